"""The contract between the MCP tool kind and MCP servers. `tools/mcp/client.py` implements it with the
`mcp` SDK; the rest of `tools/mcp/` sees only these types."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class McpServerSpec:
    """Where an MCP server is and how to reach it (credentials never leave this object)."""

    label: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    authorization: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ListedTool:
    """One tool as the server lists it. `input_schema`/`annotations` are JSON text, order kept."""

    name: str
    description: str | None
    input_schema: str
    annotations: str | None = None
    read_only: bool = False


McpErrorKind = Literal["protocol", "http", "timeout", "connect", "blocked"]


class McpError(Exception):
    """Listing or calling failed. `code` is the JSON-RPC error code (protocol) or HTTP status (http),
    0 otherwise."""

    def __init__(self, kind: McpErrorKind, message: str, *, code: int = 0) -> None:
        super().__init__(message)
        self.kind: McpErrorKind = kind
        self.message = message
        self.code = code


@dataclass(frozen=True)
class CallResult:
    """A tool's result. `is_error` means the tool itself reported failure; `content` is the MCP
    content list as JSON text, and `text` its text parts joined (what the model is shown)."""

    text: str
    content: str
    is_error: bool = False


class McpSession(Protocol):
    """An initialized session with one MCP server."""

    async def list_tools(self) -> list[ListedTool]:
        """The server's tools. Raises `McpError`."""
        ...

    async def call_tool(self, name: str, arguments: Mapping[str, object]) -> CallResult:
        """Call one tool. Raises `McpError` (a tool reporting failure is `CallResult.is_error`)."""
        ...


class McpConnector(Protocol):
    """Opens sessions; the loop opens each server once per response and closes it at the end."""

    def connect(self, server: McpServerSpec) -> AbstractAsyncContextManager[McpSession]:
        """A session with `server`. Entering raises `McpError` (blocked host, bad URL, unreachable)."""
        ...
