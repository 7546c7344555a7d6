"""The agentic loop: model turns, with MCP calls run by the service in between.

The loop ends when a turn has no MCP call, when a turn calls a client-side function (the MCP
calls of that turn still finish first), when a call needs the client's approval, when
`max_tool_calls` is reached, or after `MAX_TURNS` turns.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.assemble import Context, output_as_input
from rejoinder.core.ids import IdGenerator
from rejoinder.core.run.chat_mapping import TurnInput, paced_chat_request, plain_name
from rejoinder.core.run.mcp_calls import McpRunner, PendingCall
from rejoinder.core.run.mcp_toolset import McpServer, McpToolset
from rejoinder.core.run.output import OutputBuilder
from rejoinder.core.run.tool_policy import tool_policy
from rejoinder.core.run.turn import run_turn
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import HttpError, InputItem, McpCall, McpCallError
from rejoinder.responses.v1.response_pb2 import InputTokensDetails, OutputTokensDetails, Usage
from rejoinder.tools.base import McpConnector

MAX_TURNS = 16
INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
"""Upstream finish reasons that leave the response incomplete, and the reason OpenAI gives."""
Events = AsyncIterator[ResponseStreamEvent]


@dataclass
class Tally:
    """Usage summed over every upstream call, and how the last one finished."""

    usage: Usage = field(
        default_factory=lambda: Usage(
            input_tokens_details=InputTokensDetails(), output_tokens_details=OutputTokensDetails()
        )
    )
    finish: str | None = None

    def add(self, delta: p.UsageDelta) -> None:
        """Count one upstream call's usage."""
        u = self.usage
        u.input_tokens += delta.input_tokens
        u.output_tokens += delta.output_tokens
        u.total_tokens += delta.input_tokens + delta.output_tokens
        u.input_tokens_details.cached_tokens += delta.cached_tokens
        u.output_tokens_details.reasoning_tokens += delta.reasoning_tokens


@dataclass
class FirstTurn:
    """A turn whose first delta was awaited before the first byte."""

    upstream: AsyncGenerator[p.ChatDelta, None]
    first: p.ChatDelta | None

    async def deltas(self) -> AsyncIterator[p.ChatDelta]:
        """The first delta, then the rest."""
        if self.first is None:
            return
        yield self.first
        async for delta in self.upstream:
            yield delta


@dataclass(frozen=True)
class LoopParts:
    """What one response's loop works with."""

    vreq: ValidatedRequest
    ctx: Context
    route: Route
    builder: OutputBuilder
    tally: Tally
    ids: IdGenerator
    files: Mapping[str, str] = field(default_factory=dict)


class AgentLoop:
    """Runs the turns of one response, emitting their events."""

    def __init__(
        self,
        parts: LoopParts,
        servers: Sequence[McpServer],
        connector: McpConnector | None,
        first: FirstTurn | None,
    ) -> None:
        self._parts = parts
        self._servers = list(servers)
        self._connector = connector
        self._first = first
        self._calls = 0
        self._unknown: dict[int, McpCall] = {}
        self._feedback: list[InputItem] = []
        self._functions = {
            t.function.name for t in parts.vreq.params.tools if t.WhichOneof("tool") == "function"
        }
        reasoning = parts.vreq.params.reasoning
        self._hide_reasoning = reasoning.HasField("effort") and reasoning.effort == "none"

    async def run(self) -> Events:
        """Every event between `response.in_progress` and the terminal event."""
        async with AsyncExitStack() as stack:
            runner = self._runner(stack)
            if runner is not None:
                async for event in self._prepare(runner):
                    yield event
            for turn in range(MAX_TURNS):
                pending: list[PendingCall] = []
                functions_before = self._parts.builder.function_calls
                async for event in self._turn(turn, runner, pending):
                    yield event
                reported = runner is not None and self._unknown_feedback(runner)
                if runner is None or not (pending or reported):
                    return
                async for event in runner.run(pending):
                    yield event
                if self._stops(runner, functions_before):
                    return

    def _runner(self, stack: AsyncExitStack) -> McpRunner | None:
        if not self._servers or self._connector is None:
            return None
        toolset = McpToolset(self._servers, self._connector, stack)
        return McpRunner(toolset, self._parts.builder, self._parts.ids)

    def _stops(self, runner: McpRunner, functions_before: int) -> bool:
        limit = (
            self._parts.vreq.params.max_tool_calls
            if self._parts.vreq.params.HasField("max_tool_calls")
            else None
        )
        called_functions = self._parts.builder.function_calls > functions_before
        return (
            runner.approvals_requested > 0 or called_functions or (limit is not None and self._calls >= limit)
        )

    async def _prepare(self, runner: McpRunner) -> Events:
        ctx = self._parts.ctx
        async for event in runner.list_tools(ctx.items):
            yield event
        runner.toolset.expose(self._functions)
        approved = self._approved(runner.toolset, ctx.items, ctx.new_items)
        if approved:
            self._calls += len(approved)
            async for event in runner.run(approved):
                yield event

    @staticmethod
    def _approved(
        toolset: McpToolset, items: Sequence[InputItem], new: Sequence[InputItem]
    ) -> list[PendingCall]:
        requests = {
            i.mcp_approval_request.id: i.mcp_approval_request
            for i in items
            if i.WhichOneof("item") == "mcp_approval_request"
        }
        calls = []
        for item in new:
            if item.WhichOneof("item") != "mcp_approval_response" or not item.mcp_approval_response.approve:
                continue
            request = requests[item.mcp_approval_response.approval_request_id]
            exposed = toolset.exposed.get(toolset.name_for(request.server_label, request.name))
            if exposed is not None:
                calls.append(
                    PendingCall(exposed=exposed, pieces=[request.arguments], approval_request_id=request.id)
                )
        return calls

    async def _deltas(self, turn: int, runner: McpRunner | None) -> AsyncIterator[p.ChatDelta]:
        if turn == 0 and self._first is not None:
            return self._first.deltas()
        parts = self._parts
        toolset = runner.toolset if runner is not None else None
        items = [*parts.ctx.items, *(output_as_input(o) for o in parts.builder.items), *self._feedback]
        turn_input = TurnInput(
            items=items,
            instructions=parts.ctx.instructions,
            upstream_model=parts.route.upstream_model,
            extra_tools=toolset.functions() if toolset is not None else (),
            name_for=toolset.name_for if toolset is not None else plain_name,
            files=parts.files,
        )
        policy = tool_policy(parts.vreq.params, toolset)
        chat = await paced_chat_request(parts.vreq, turn_input)
        return run_turn(parts.route.provider, chat, policy, self._calls)

    def _absorbed(
        self,
        delta: p.ChatDelta,
        runner: McpRunner | None,
        by_index: dict[int, PendingCall],
        pending: list[PendingCall],
    ) -> bool:
        """Whether the delta is taken here rather than turned into output: usage, the finish reason,
        reasoning the client asked not to see, and fragments of MCP calls."""
        if isinstance(delta, p.TextDelta):  # most deltas: decided at once
            return False
        tally = self._parts.tally
        if isinstance(delta, p.UsageDelta):
            tally.add(delta)
            return True
        if isinstance(delta, p.FinishDelta):
            tally.finish = delta.reason
            return True
        if isinstance(delta, p.ReasoningDelta):
            return self._hide_reasoning
        if isinstance(delta, p.ToolCallDelta) and runner is not None:
            return self._mcp(delta, runner, by_index, pending)
        return False

    async def _turn(self, turn: int, runner: McpRunner | None, pending: list[PendingCall]) -> Events:
        builder, tally = self._parts.builder, self._parts.tally
        by_index: dict[int, PendingCall] = {}
        functions_before = builder.function_calls
        async for delta in await self._deltas(turn, runner):
            if not self._absorbed(delta, runner, by_index, pending):
                for event in builder.on_delta(delta):
                    yield event
        status = "incomplete" if tally.finish in INCOMPLETE_REASONS else "completed"
        for event in builder.close(status):
            yield event
        self._calls += len(pending) + builder.function_calls - functions_before

    def _mcp(
        self,
        delta: p.ToolCallDelta,
        runner: McpRunner,
        by_index: dict[int, PendingCall],
        pending: list[PendingCall],
    ) -> bool:
        if delta.index in self._unknown:
            return True
        call = by_index.get(delta.index)
        if call is None:
            name = delta.name or ""
            exposed = runner.toolset.exposed.get(name)
            if exposed is None:
                if name in self._functions:
                    return False
                self._unknown[delta.index] = McpCall(
                    id=self._parts.ids.new("call"), server_label="", name=name, arguments="", status="failed"
                )
                return True
            call = PendingCall(exposed=exposed)
            by_index[delta.index] = call
            pending.append(call)
        call.pieces.append(delta.arguments)
        return True

    def _unknown_feedback(self, runner: McpRunner) -> bool:
        """Tell the model, on its next turn, that the tools it made up do not exist."""
        if not self._unknown:
            return False
        offered = ", ".join(sorted({*self._functions, *runner.toolset.exposed})) or "none"
        for call in self._unknown.values():
            message = f"There is no tool named '{call.name}'. The tools are: {offered}."
            call.error.CopyFrom(McpCallError(http_error=HttpError(code=404, message=message)))
            self._feedback.append(InputItem(mcp_call=call))
        self._calls += len(self._unknown)
        self._unknown = {}
        return True
