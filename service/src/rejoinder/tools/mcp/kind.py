"""MCP as a tool kind: `McpKind` (registered once) and the `McpToolSet` of one response.

A response lists each server's tools once (or adopts the listing an earlier turn of the conversation
made), emitting an `mcp_list_tools` item that lists the tools `allowed_tools` imports, as OpenAI does;
the model sees those tools as functions; each call becomes an `mcp_call` item, or an
`mcp_approval_request` when `require_approval` says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rejoinder.providers import base as p
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.content_pb2 import Annotation
from rejoinder.responses.v1.items_pb2 import InputItem, McpApprovalRequest, OutputItem
from rejoinder.responses.v1.tools_pb2 import Tool, ToolChoice
from rejoinder.tools.base import CallRun, Events, ItemWriter, ToolCall, ToolScope, Transcript
from rejoinder.tools.mcp.calls import McpCallRun
from rejoinder.tools.mcp.checks import check_mcp, check_mcp_choice
from rejoinder.tools.mcp.contract import McpConnector, McpError
from rejoinder.tools.mcp.toolset import (
    McpServer,
    McpToolset,
    earlier_listing,
    listed_from,
    listing_item,
    needs_approval,
    servers_of,
)
from rejoinder.tools.mcp.transcript import transcript


class McpToolSet:
    """The `ToolSet` of a response's MCP servers; its sessions close with `scope.stack`."""

    def __init__(self, servers: Sequence[McpServer], connector: McpConnector, scope: ToolScope) -> None:
        self.toolset = McpToolset(servers, connector, scope.stack)
        self._ids = scope.ids

    async def prepare(self, history: Sequence[InputItem], out: ItemWriter) -> Events:
        """Adopt each server's tools: an earlier listing when the conversation has one, else list now."""
        for server in self.toolset.servers:
            earlier = earlier_listing(history, server.spec.label)
            if earlier is not None:
                self.toolset.adopt(server, listed_from(earlier))
                continue
            async for event in self._list(server, out):
                yield event

    async def _list(self, server: McpServer, out: ItemWriter) -> Events:
        label = server.spec.label
        item_id = self._ids.new("mcpl")
        index, events = out.open_item(OutputItem(mcp_list_tools=listing_item(item_id, label, [], None)))
        for event in events:
            yield event
        common: dict[str, Any] = {"output_index": index, "item_id": item_id}
        yield out.emit("mcp_list_tools_in_progress", ev.McpListToolsInProgressEvent(**common))
        try:
            tools = await self.toolset.list(server)
        except McpError as exc:
            yield out.emit("mcp_list_tools_failed", ev.McpListToolsFailedEvent(**common))
            yield out.done_item(
                index, OutputItem(mcp_list_tools=listing_item(item_id, label, [], exc.message))
            )
            return
        allowed = self.toolset.adopt(server, tools)
        yield out.emit("mcp_list_tools_completed", ev.McpListToolsCompletedEvent(**common))
        yield out.done_item(index, OutputItem(mcp_list_tools=listing_item(item_id, label, allowed, None)))

    def offer(self, reserved: frozenset[str]) -> tuple[p.FunctionTool, ...]:
        self.toolset.expose(reserved)
        return self.toolset.functions()

    def names(self) -> frozenset[str]:
        return self.toolset.names()

    def forced_by(self, choice: ToolChoice) -> frozenset[str] | None:
        if choice.WhichOneof("tool_choice") != "mcp":
            return None
        name = choice.mcp.name if choice.mcp.HasField("name") else None
        return self.toolset.names_of_server(choice.mcp.server_label, name)

    def start(self, call: ToolCall) -> CallRun:
        return McpCallRun(self.toolset, self.toolset.exposed[call.name], call, self._ids)

    def needs_approval(self, call: ToolCall) -> bool:
        exposed = self.toolset.exposed[call.name]
        return call.approval_request_id is None and needs_approval(exposed.server.approval, exposed.tool)

    def approval_request(self, call: ToolCall) -> OutputItem:
        exposed = self.toolset.exposed[call.name]
        request = McpApprovalRequest(
            id=self._ids.new("mcpr"),
            server_label=exposed.server.spec.label,
            name=exposed.tool.name,
            arguments=call.arguments,
        )
        return OutputItem(mcp_approval_request=request)

    def approved(self, history: Sequence[InputItem], new: Sequence[InputItem]) -> list[ToolCall]:
        requests = {
            i.mcp_approval_request.id: i.mcp_approval_request
            for i in (*history, *new)
            if i.WhichOneof("item") == "mcp_approval_request"
        }
        calls = []
        for item in new:
            if item.WhichOneof("item") != "mcp_approval_response" or not item.mcp_approval_response.approve:
                continue
            request = requests.get(item.mcp_approval_response.approval_request_id)
            if request is None:
                continue
            name = self.toolset.name_for(request.server_label, request.name)
            if name in self.toolset.exposed:
                calls.append(ToolCall(name=name, pieces=[request.arguments], approval_request_id=request.id))
        return calls

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        return transcript(items, self.toolset.name_for)

    def annotations(self, text: str) -> list[Annotation]:
        return []


class McpKind:
    """The `mcp` tool kind: remote MCP servers reached through `connector`."""

    tool_type = "mcp"

    def __init__(self, connector: McpConnector) -> None:
        self._connector = connector

    def toolset(self, tools: Sequence[Tool], scope: ToolScope) -> McpToolSet | None:
        servers = servers_of(tools)
        return McpToolSet(servers, self._connector, scope) if servers else None

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        return transcript(items)

    def public(self, tool: Tool) -> Tool:
        """MCP credentials (`authorization`, `headers`) are never echoed or stored."""
        copy = Tool()
        copy.CopyFrom(tool)
        copy.mcp.ClearField("authorization")
        copy.mcp.headers.clear()
        return copy

    def check(self, tool: Tool, param: str, earlier: Sequence[Tool]) -> None:
        check_mcp(tool.mcp, param, earlier)

    def check_choice(self, choice: ToolChoice, tools: Sequence[Tool]) -> None:
        check_mcp_choice(choice, tools)

    async def admit(self, tools: Sequence[Tool], tenant: str) -> None:
        """Nothing to check against the tenant's data: servers are reached when listed."""
