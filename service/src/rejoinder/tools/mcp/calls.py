"""One MCP call: run against its server's session, told as an `mcp_call` item and its events."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import orjson

from rejoinder.core.ids import IdGenerator
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.items_pb2 import (
    HttpError,
    McpCall,
    McpCallError,
    McpProtocolError,
    McpToolExecutionError,
    OutputItem,
)
from rejoinder.tools.base import Events, ItemWriter, ToolCall, ToolOperation
from rejoinder.tools.mcp.contract import CallResult, McpError
from rejoinder.tools.mcp.toolset import Exposed, McpToolset


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


class McpCallRun:
    """A `CallRun` of one MCP tool: `tools/call` on the server's session (opened on first use)."""

    def __init__(self, toolset: McpToolset, exposed: Exposed, call: ToolCall, ids: IdGenerator) -> None:
        self._toolset = toolset
        self._exposed = exposed
        self._call = call
        self._ids = ids
        self._outcome: CallResult | McpError = McpError("connect", "The call did not run.")

    @property
    def operation(self) -> ToolOperation:
        label = self._exposed.server.spec.label
        return ToolOperation(
            name=self._exposed.tool.name,
            tool_type="extension",
            tool="mcp_call",
            source=label,
            attributes={"mcp.method.name": "tools/call", "mcp.server.label": label},
        )

    async def run(self) -> str:
        self._outcome = await self._invoke()
        if isinstance(self._outcome, McpError):
            return self._outcome.kind
        return "tool_error" if self._outcome.is_error else "ok"

    async def _invoke(self) -> CallResult | McpError:
        try:
            arguments = orjson.loads(self._call.arguments or "{}")
        except orjson.JSONDecodeError:
            return McpError("protocol", "The model's arguments are not valid JSON.", code=-32602)
        if not isinstance(arguments, dict):
            return McpError("protocol", "The model's arguments are not a JSON object.", code=-32602)
        try:
            session = await self._toolset.session(self._exposed.server)
            return await session.call_tool(self._exposed.tool.name, arguments)
        except McpError as exc:
            return exc

    async def events(self, out: ItemWriter, finished: Awaitable[str]) -> Events:
        call = self._call
        item = McpCall(
            id=self._ids.new("mcp"),
            server_label=self._exposed.server.spec.label,
            name=self._exposed.tool.name,
            arguments="",
            status="in_progress",
        )
        if call.approval_request_id is not None:
            item.approval_request_id = call.approval_request_id
        index, events = out.open_item(OutputItem(mcp_call=item))
        for event in events:
            yield event
        common: dict[str, Any] = {"output_index": index, "item_id": item.id}
        item.arguments = call.arguments
        yield out.emit(
            "mcp_call_arguments_delta", ev.McpCallArgumentsDeltaEvent(delta=call.arguments, **common)
        )
        yield out.emit(
            "mcp_call_arguments_done", ev.McpCallArgumentsDoneEvent(arguments=call.arguments, **common)
        )
        yield out.emit("mcp_call_in_progress", ev.McpCallInProgressEvent(**common))
        await finished
        if _finished(item, self._outcome):
            yield out.emit("mcp_call_completed", ev.McpCallCompletedEvent(**common))
        else:
            yield out.emit("mcp_call_failed", ev.McpCallFailedEvent(**common))
        yield out.done_item(index, OutputItem(mcp_call=item))
