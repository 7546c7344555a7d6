"""Running the MCP calls of one turn: concurrently, with their items and events emitted in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from rejoinder.core.ids import IdGenerator
from rejoinder.core.run.mcp_toolset import (
    Exposed,
    McpServer,
    McpToolset,
    earlier_listing,
    listed_from,
    listing_item,
    needs_approval,
)
from rejoinder.core.run.output import OutputBuilder
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import (
    HttpError,
    InputItem,
    McpApprovalRequest,
    McpCall,
    McpCallError,
    McpProtocolError,
    McpToolExecutionError,
    OutputItem,
)
from rejoinder.tools.base import CallResult, McpError


@dataclass
class PendingCall:
    """An MCP call the model made in this turn (its arguments gathered from the fragments)."""

    exposed: Exposed
    pieces: list[str] = field(default_factory=list)
    approval_request_id: str | None = None

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)


async def _invoke(toolset: McpToolset, call: PendingCall) -> CallResult | McpError:
    try:
        arguments = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return McpError("protocol", "The model's arguments are not valid JSON.", code=-32602)
    if not isinstance(arguments, dict):
        return McpError("protocol", "The model's arguments are not a JSON object.", code=-32602)
    try:
        session = await toolset.session(call.exposed.server)
        return await session.call_tool(call.exposed.tool.name, arguments)
    except McpError as exc:
        return exc


def _finished(item: McpCall, outcome: CallResult | McpError) -> bool:
    """Fill the item from the outcome; True when the call succeeded."""
    if isinstance(outcome, CallResult) and not outcome.is_error:
        item.output = outcome.text
        item.status = "completed"
        return True
    item.status = "failed"
    if isinstance(outcome, CallResult):
        item.error.CopyFrom(
            McpCallError(mcp_tool_execution_error=McpToolExecutionError(content=outcome.content))
        )
    elif outcome.kind == "protocol":
        item.error.CopyFrom(
            McpCallError(mcp_protocol_error=McpProtocolError(code=outcome.code, message=outcome.message))
        )
    else:
        item.error.CopyFrom(McpCallError(http_error=HttpError(code=outcome.code, message=outcome.message)))
    return False


class McpRunner:
    """Emits the MCP items of a response through the shared `OutputBuilder`."""

    def __init__(self, toolset: McpToolset, builder: OutputBuilder, ids: IdGenerator) -> None:
        self.toolset = toolset
        self._builder = builder
        self._ids = ids
        self.approvals_requested = 0

    async def list_tools(self, history: Sequence[InputItem]) -> AsyncIterator[ResponseStreamEvent]:
        """Adopt each server's tools: an earlier listing when the conversation has one, else list now."""
        for server in self.toolset.servers:
            earlier = earlier_listing(history, server.spec.label)
            if earlier is not None:
                self.toolset.adopt(server, listed_from(earlier))
                continue
            async for event in self._list(server):
                yield event

    async def _list(self, server: McpServer) -> AsyncIterator[ResponseStreamEvent]:
        b = self._builder
        item_id = self._ids.new("mcpl")
        index, events = b.open_item(
            OutputItem(mcp_list_tools=listing_item(item_id, server.spec.label, [], None))
        )
        for event in events:
            yield event
        common: dict[str, Any] = {"output_index": index, "item_id": item_id}
        yield b.emit("mcp_list_tools_in_progress", ev.McpListToolsInProgressEvent(**common))
        try:
            tools = await self.toolset.list(server)
        except McpError as exc:
            yield b.emit("mcp_list_tools_failed", ev.McpListToolsFailedEvent(**common))
            failed = listing_item(item_id, server.spec.label, [], exc.message)
            yield b.done_item(index, OutputItem(mcp_list_tools=failed))
            return
        self.toolset.adopt(server, tools)
        yield b.emit("mcp_list_tools_completed", ev.McpListToolsCompletedEvent(**common))
        yield b.done_item(
            index, OutputItem(mcp_list_tools=listing_item(item_id, server.spec.label, tools, None))
        )

    async def run(self, calls: Sequence[PendingCall]) -> AsyncIterator[ResponseStreamEvent]:
        """Ask approval for the calls that need it; run the others concurrently, items in order."""
        tasks: dict[int, asyncio.Task[CallResult | McpError]] = {}
        for i, call in enumerate(calls):
            if call.approval_request_id is not None or not needs_approval(
                call.exposed.server.approval, call.exposed.tool
            ):
                tasks[i] = asyncio.ensure_future(_invoke(self.toolset, call))
        try:
            for i, call in enumerate(calls):
                task = tasks.get(i)
                source = self._approval(call) if task is None else self._call(call, task)
                async for event in source:
                    yield event
        finally:
            for task in tasks.values():
                task.cancel()
            for task in tasks.values():
                with contextlib.suppress(BaseException):
                    await task

    async def _approval(self, call: PendingCall) -> AsyncIterator[ResponseStreamEvent]:
        self.approvals_requested += 1
        request = McpApprovalRequest(
            id=self._ids.new("mcpr"),
            server_label=call.exposed.server.spec.label,
            name=call.exposed.tool.name,
            arguments=call.arguments,
        )
        index, events = self._builder.open_item(OutputItem(mcp_approval_request=request))
        for event in events:
            yield event
        yield self._builder.done_item(index, OutputItem(mcp_approval_request=request))

    async def _call(
        self, call: PendingCall, task: asyncio.Task[CallResult | McpError]
    ) -> AsyncIterator[ResponseStreamEvent]:
        b = self._builder
        item = McpCall(
            id=self._ids.new("mcp"),
            server_label=call.exposed.server.spec.label,
            name=call.exposed.tool.name,
            arguments="",
            status="in_progress",
        )
        if call.approval_request_id is not None:
            item.approval_request_id = call.approval_request_id
        index, events = b.open_item(OutputItem(mcp_call=item))
        for event in events:
            yield event
        common: dict[str, Any] = {"output_index": index, "item_id": item.id}
        item.arguments = call.arguments
        yield b.emit(
            "mcp_call_arguments_delta", ev.McpCallArgumentsDeltaEvent(delta=call.arguments, **common)
        )
        yield b.emit(
            "mcp_call_arguments_done", ev.McpCallArgumentsDoneEvent(arguments=call.arguments, **common)
        )
        yield b.emit("mcp_call_in_progress", ev.McpCallInProgressEvent(**common))
        if _finished(item, await task):
            yield b.emit("mcp_call_completed", ev.McpCallCompletedEvent(**common))
        else:
            yield b.emit("mcp_call_failed", ev.McpCallFailedEvent(**common))
        yield b.done_item(index, OutputItem(mcp_call=item))
