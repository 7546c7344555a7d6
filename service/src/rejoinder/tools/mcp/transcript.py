"""How MCP items in a conversation read to the model: each `mcp_call` (and each approval request the
client declined) is a tool call with the text it got back."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rejoinder.responses.v1.items_pb2 import InputItem, McpCall
from rejoinder.tools.base import ServedCall, Transcript

NameFor = Callable[[str, str], str]
"""(server_label, tool name) -> the name the model knows the tool by."""


def plain_name(label: str, name: str) -> str:
    """A tool's own name (no toolset in the response to rename it)."""
    return name


def call_output(call: McpCall) -> str:
    """What the model is told a call came to."""
    if call.HasField("output"):
        return call.output
    kind = call.error.WhichOneof("error")
    if kind == "mcp_tool_execution_error":
        return f"Error: {call.error.mcp_tool_execution_error.content}"
    if kind == "mcp_protocol_error":
        return f"Error: {call.error.mcp_protocol_error.message}"
    if kind == "http_error":
        return f"Error: {call.error.http_error.message}"
    return "Error: the call did not finish."


def denials(items: Sequence[InputItem]) -> dict[str, str]:
    """The approval requests the client declined, by id, with what the model is told."""
    denied = {}
    for item in items:
        if item.WhichOneof("item") == "mcp_approval_response" and not item.mcp_approval_response.approve:
            answer = item.mcp_approval_response
            reason = f" Reason: {answer.reason}" if answer.HasField("reason") else ""
            denied[answer.approval_request_id] = f"The user declined to run this tool call.{reason}"
    return denied


def transcript(items: Sequence[InputItem], name_for: NameFor = plain_name) -> Transcript:
    """The `Transcript` of MCP items among `items`."""
    denied = denials(items)

    def served(item: InputItem) -> ServedCall | None:
        kind = item.WhichOneof("item")
        if kind == "mcp_call":
            c = item.mcp_call
            return ServedCall(c.id, name_for(c.server_label, c.name), c.arguments, call_output(c))
        if kind == "mcp_approval_request" and item.mcp_approval_request.id in denied:
            r = item.mcp_approval_request
            return ServedCall(r.id, name_for(r.server_label, r.name), r.arguments, denied[r.id])
        return None

    return served
