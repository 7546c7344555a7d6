"""The MCP servers of one response: their tool listings (reused along a conversation), the tools
`allowed_tools` imports and offers to the model, the approval policy, and the sessions (one per
server, closed at the end).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import orjson

from rejoinder.core.checks.json_text import json_object
from rejoinder.providers import base as p
from rejoinder.responses.v1.items_pb2 import InputItem, McpListTools, McpToolInfo
from rejoinder.responses.v1.tools_pb2 import McpAllowedTools, McpRequireApproval, McpTool, McpToolFilter, Tool
from rejoinder.tools.mcp.contract import ListedTool, McpConnector, McpServerSpec, McpSession

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True)
class McpServer:
    """An MCP tool of the request: where the server is, and what the model may do with it."""

    spec: McpServerSpec
    allowed: McpAllowedTools
    approval: McpRequireApproval


@dataclass(frozen=True)
class Exposed:
    """An MCP tool offered to the model under `name`."""

    name: str
    server: McpServer
    tool: ListedTool


def servers_of(tools: Sequence[Tool]) -> list[McpServer]:
    """The MCP servers a request names."""
    out = []
    for tool in tools:
        if tool.WhichOneof("tool") != "mcp":
            continue
        mcp: McpTool = tool.mcp
        spec = McpServerSpec(
            label=mcp.server_label,
            url=mcp.server_url,
            headers=dict(mcp.headers),
            authorization=mcp.authorization if mcp.HasField("authorization") else None,
        )
        out.append(McpServer(spec=spec, allowed=mcp.allowed_tools, approval=mcp.require_approval))
    return out


def _matches(flt: McpToolFilter, tool: ListedTool) -> bool:
    by_name = len(flt.tool_names) == 0 or tool.name in flt.tool_names
    by_hint = not flt.HasField("read_only") or flt.read_only == tool.read_only
    return by_name and by_hint


def _filter_set(flt: McpToolFilter) -> bool:
    return len(flt.tool_names) > 0 or flt.HasField("read_only")


def is_allowed(allowed: McpAllowedTools, tool: ListedTool) -> bool:
    """`allowed_tools`: a list of names, a filter, or everything when unset."""
    kind = allowed.WhichOneof("allowed_tools")
    if kind == "names":
        return tool.name in allowed.names.items
    if kind == "filter":
        return _matches(allowed.filter, tool)
    return True


def needs_approval(policy: McpRequireApproval, tool: ListedTool) -> bool:
    """`require_approval`: "always" (OpenAI's default), "never", or per-tool filters."""
    kind = policy.WhichOneof("require_approval")
    if kind == "mode":
        return policy.mode != "never"
    if kind == "filter":
        flt = policy.filter
        if flt.HasField("never") and _filter_set(flt.never) and _matches(flt.never, tool):
            return False
        if flt.HasField("always") and _filter_set(flt.always):
            return _matches(flt.always, tool)
        return not (flt.HasField("never") and _filter_set(flt.never))
    return True


def listing_item(item_id: str, label: str, tools: Sequence[ListedTool], error: str | None) -> McpListTools:
    """The `mcp_list_tools` item of a listing."""
    listing = McpListTools(id=item_id, server_label=label)
    for t in tools:
        info = McpToolInfo(name=t.name, input_schema=t.input_schema)
        if t.description is not None:
            info.description = t.description
        if t.annotations is not None:
            info.annotations = t.annotations
        listing.tools.append(info)
    if error is not None:
        listing.error = error
    return listing


def listed_from(item: McpListTools) -> list[ListedTool]:
    """The tools of an earlier listing."""
    tools = []
    for info in item.tools:
        annotations = info.annotations if info.HasField("annotations") else None
        hints = orjson.loads(annotations) if annotations else {}
        read_only = (
            bool(hints.get("readOnlyHint") or hints.get("read_only_hint"))
            if isinstance(hints, dict)
            else False
        )
        tools.append(
            ListedTool(
                name=info.name,
                description=info.description if info.HasField("description") else None,
                input_schema=info.input_schema or "{}",
                annotations=annotations,
                read_only=read_only,
            )
        )
    return tools


def earlier_listing(history: Sequence[InputItem], label: str) -> McpListTools | None:
    """The latest successful listing of `label` in the conversation so far."""
    for item in reversed(history):
        if item.WhichOneof("item") == "mcp_list_tools":
            listing = item.mcp_list_tools
            if listing.server_label == label and not listing.HasField("error"):
                return listing
    return None


class McpToolset:
    """The response's MCP state; `stack` owns the sessions."""

    def __init__(self, servers: Sequence[McpServer], connector: McpConnector, stack: AsyncExitStack) -> None:
        self.servers = list(servers)
        self._connector = connector
        self._stack = stack
        self._sessions: dict[str, McpSession] = {}
        self._tools: dict[str, list[ListedTool]] = {}
        self.exposed: dict[str, Exposed] = {}

    async def session(self, server: McpServer) -> McpSession:
        """The server's session, opened on first use. Raises `McpError`."""
        session = self._sessions.get(server.spec.label)
        if session is None:
            session = await self._stack.enter_async_context(self._connector.connect(server.spec))
            self._sessions[server.spec.label] = session
        return session

    async def list(self, server: McpServer) -> list[ListedTool]:
        """List the server's tools now. Raises `McpError`."""
        return await (await self.session(server)).list_tools()

    def adopt(self, server: McpServer, tools: Sequence[ListedTool]) -> Sequence[ListedTool]:
        """Use the tools of `server` (freshly listed or from an earlier listing) that its `allowed_tools`
        imports; returns them (what its `mcp_list_tools` item lists, as OpenAI does)."""
        allowed = [t for t in tools if is_allowed(server.allowed, t)]
        self._tools[server.spec.label] = allowed
        return allowed

    def expose(self, reserved: frozenset[str]) -> None:
        """Name every usable MCP tool for the model, avoiding `reserved` names and collisions."""
        counts: dict[str, int] = {}
        for tools in self._tools.values():
            for t in tools:
                counts[t.name] = counts.get(t.name, 0) + 1
        self.exposed = {}
        for server in self.servers:
            for t in self._tools.get(server.spec.label, []):
                plain = counts[t.name] == 1 and t.name not in reserved
                name = _UNSAFE.sub("_", t.name if plain else f"{server.spec.label}__{t.name}")[:64]
                self.exposed[name] = Exposed(name=name, server=server, tool=t)

    def name_for(self, label: str, tool: str) -> str:
        """The name the model knows an MCP tool by (for calls already in the conversation)."""
        for exposed in self.exposed.values():
            if exposed.server.spec.label == label and exposed.tool.name == tool:
                return exposed.name
        return _UNSAFE.sub("_", tool)[:64]

    def functions(self) -> tuple[p.FunctionTool, ...]:
        """The MCP tools as chat functions, schemas as the servers gave them."""
        return tuple(
            p.FunctionTool(
                name=e.name, description=e.tool.description, parameters=json_object(e.tool.input_schema)
            )
            for e in self.exposed.values()
        )

    def names(self) -> frozenset[str]:
        """The names of every MCP tool offered to the model."""
        return frozenset(self.exposed)

    def names_of_server(self, label: str, tool: str | None = None) -> frozenset[str]:
        """The exposed names of one server's tools (or of one of them)."""
        return frozenset(
            e.name
            for e in self.exposed.values()
            if e.server.spec.label == label and (tool is None or e.tool.name == tool)
        )
