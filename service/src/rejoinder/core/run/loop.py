"""The agentic loop: model turns, with the calls of server-side tools run by the service in between.

The tools come from the kinds registered in `ToolKinds` (`tools/base.py` is their protocol); the loop
knows none by name. It ends when a turn calls no served tool, when a turn calls a client-side function
(the served calls of that turn still finish first), when a call needs the client's approval, when
`max_tool_calls` is reached, or after `MAX_TURNS` turns.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass, field, replace

from rejoinder.core.checks.validation import ValidatedRequest
from rejoinder.core.context.assemble import Context, output_as_input
from rejoinder.core.context.fitting import fit_turn
from rejoinder.core.ids import IdGenerator
from rejoinder.core.run.chat_mapping import TurnInput
from rejoinder.core.run.output import OutputBuilder
from rejoinder.core.run.served import ServedTools
from rejoinder.core.run.tool_calls import CallRunner, PendingCall
from rejoinder.core.run.tool_policy import tool_policy
from rejoinder.core.run.turn import run_turn
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.events_pb2 import CompactionCompactingEvent, ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import InputTokensDetails, OutputTokensDetails, Usage
from rejoinder.tools.base import ToolScope
from rejoinder.tools.registry import ToolKinds

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
    """A turn whose first delta was awaited before the first byte: `first` (None when the upstream
    ended without one), then the rest of `upstream`."""

    upstream: AsyncGenerator[p.ChatDelta, None]
    first: p.ChatDelta | None


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

    def __init__(self, parts: LoopParts, kinds: ToolKinds, first: FirstTurn | None) -> None:
        self._parts = parts
        self._kinds = kinds
        self._first = first
        self._calls = 0
        self._unknown: dict[int, tuple[str, str]] = {}  # fragment index -> (name, call id)
        self._feedback: list[InputItem] = []
        self._functions = frozenset(
            t.function.name for t in parts.vreq.params.tools if t.WhichOneof("tool") == "function"
        )
        reasoning = parts.vreq.params.reasoning
        self._hide_reasoning = reasoning.HasField("effort") and reasoning.effort == "none"

    async def run(self) -> Events:
        """Every event between `response.in_progress` and the terminal event."""
        for event in self._compaction():
            yield event
        if self._parts.ctx.compacted is not None and self._parts.ctx.compacted.final:
            return  # a compaction_trigger: the compaction item is the whole output
        if not self._kinds.used_by(self._parts.vreq.params.tools):  # one turn, no sessions to hold open
            async for event in self._turn(0, None, []):
                yield event
            return
        async with aclosing(self._served_turns()) as turns:  # its sessions end in this task, as run does
            async for event in turns:
                yield event

    async def _served_turns(self) -> AsyncGenerator[ResponseStreamEvent, None]:
        """The turns of a response that may call served tools, their sessions held open meanwhile."""
        async with AsyncExitStack() as stack:
            served = self._served(stack)
            runner = CallRunner(self._parts.builder) if served is not None else None
            if served is not None and runner is not None:
                async for event in self._prepare(served, runner):
                    yield event
            for turn in range(MAX_TURNS):
                pending: list[PendingCall] = []
                functions_before = self._parts.builder.function_calls
                async for event in self._turn(turn, served, pending):
                    yield event
                reported = served is not None and self._unknown_feedback(served)
                if runner is None or not (pending or reported):
                    return
                async for event in runner.run(pending):
                    yield event
                if self._stops(runner, functions_before):
                    return

    def _compaction(self) -> list[ResponseStreamEvent]:
        """The compaction made before the first turn (`context_management` or a `compaction_trigger`:
        core/context/compaction_auto.py), as the first output item; its summarising call's usage joins
        the response's. A trigger's item is announced with `response.compaction.compacting` (OpenAI:
        summary content was sampled for a compaction trigger) between its added and done events."""
        compacted = self._parts.ctx.compacted
        if compacted is None:
            return []
        builder = self._parts.builder
        index, events = builder.open_item(compacted.item)
        if compacted.final:
            compacting = CompactionCompactingEvent(output_index=index, item_id=compacted.item.compaction.id)
            events.append(builder.emit("compaction_compacting", compacting))
        events.append(builder.done_item(index, compacted.item))
        self._parts.tally.add(compacted.usage)
        return events

    def _served(self, stack: AsyncExitStack) -> ServedTools | None:
        """The served tools of a request that uses some (`run` has checked), their sessions in `stack`;
        None when no kind makes a toolset of them."""
        parts = self._parts
        params = parts.vreq.params
        scope = ToolScope(stack, parts.ids, frozenset(params.include), parts.ctx.tenant)
        toolsets = self._kinds.toolsets(params.tools, scope)
        return ServedTools(self._kinds, toolsets, self._functions) if toolsets else None

    def _stops(self, runner: CallRunner, functions_before: int) -> bool:
        limit = (
            self._parts.vreq.params.max_tool_calls
            if self._parts.vreq.params.HasField("max_tool_calls")
            else None
        )
        called_functions = self._parts.builder.function_calls > functions_before
        return (
            runner.approvals_requested > 0 or called_functions or (limit is not None and self._calls >= limit)
        )

    async def _prepare(self, served: ServedTools, runner: CallRunner) -> Events:
        ctx = self._parts.ctx
        async for event in served.prepare(ctx.items, self._parts.builder):
            yield event
        self._parts.builder.annotate = served.annotations
        approved = served.approved(ctx.history, ctx.new_items)
        if approved:
            self._calls += len(approved)
            async for event in runner.run(approved):
                yield event

    async def _deltas(
        self, turn: int, served: ServedTools | None
    ) -> tuple[p.ChatDelta | None, AsyncIterator[p.ChatDelta]]:
        """The turn's first delta when it was awaited already (else None), and its deltas after it."""
        if turn == 0 and self._first is not None:  # taken here, not through a generator of its own
            return self._first.first, self._first.upstream
        parts = self._parts
        items = [*parts.ctx.model_items, *(output_as_input(o) for o in parts.builder.items), *self._feedback]
        transcripts = served.transcripts(items) if served is not None else self._kinds.transcripts(items)
        turn_input = TurnInput(
            items=items,
            instructions=parts.ctx.instructions,
            upstream_model=parts.route.upstream_model,
            extra_tools=served.functions() if served is not None else (),
            transcripts=transcripts,
            files=parts.files,
            prompt=parts.ctx.prompt_items,
        )
        policy = tool_policy(parts.vreq.params, served)
        if (
            self._calls and policy.forced is not None
        ):  # forced once, as OpenAI does: then the model may answer
            policy = replace(policy, choice="auto", forced=None)
        chat = await fit_turn(parts.vreq, turn_input, parts.route)  # tool outputs may not fit
        return None, run_turn(parts.route.provider, chat, policy, self._calls)

    def _absorbed(
        self,
        delta: p.ChatDelta,
        served: ServedTools | None,
        by_index: dict[int, PendingCall],
        pending: list[PendingCall],
    ) -> bool:
        """Whether the delta is taken here rather than turned into output: usage, the finish reason,
        reasoning the client asked not to see, and fragments of served calls."""
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
        if isinstance(delta, p.ToolCallDelta) and served is not None:
            return self._served_call(delta, served, by_index, pending)
        return False

    async def _turn(self, turn: int, served: ServedTools | None, pending: list[PendingCall]) -> Events:
        builder, tally = self._parts.builder, self._parts.tally
        by_index: dict[int, PendingCall] = {}
        functions_before = builder.function_calls
        first, deltas = await self._deltas(turn, served)
        if first is not None and not self._absorbed(first, served, by_index, pending):
            for event in builder.on_delta(first):
                yield event
        async for delta in deltas:  # (an upstream that sent no first delta has ended: nothing more)
            if not self._absorbed(delta, served, by_index, pending):
                for event in builder.on_delta(delta):
                    yield event
        status = "incomplete" if tally.finish in INCOMPLETE_REASONS else "completed"
        for event in builder.close(status):
            yield event
        self._calls += len(pending) + builder.function_calls - functions_before

    def _served_call(
        self,
        delta: p.ToolCallDelta,
        served: ServedTools,
        by_index: dict[int, PendingCall],
        pending: list[PendingCall],
    ) -> bool:
        """Take a fragment of a served call (or of a call of a tool nobody offered)."""
        if delta.index in self._unknown:
            return True
        call = by_index.get(delta.index)
        if call is None:
            name = delta.name or ""
            started = served.pending(name)
            if started is None:
                if name in self._functions:
                    return False
                self._unknown[delta.index] = (name, self._parts.ids.new("call"))
                return True
            call = started
            by_index[delta.index] = call
            pending.append(call)
        call.call.pieces.append(delta.arguments)
        return True

    def _unknown_feedback(self, served: ServedTools) -> bool:
        """Tell the model, on its next turn, that the tools it made up do not exist."""
        if not self._unknown:
            return False
        self._feedback.extend(served.unknown(list(self._unknown.values())))
        self._calls += len(self._unknown)
        self._unknown = {}
        return True
