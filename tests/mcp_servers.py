"""Real MCP servers, built with the `mcp` SDK, that tests start on 127.0.0.1.

Each server runs under uvicorn in a daemon thread with its own event loop, over streamable HTTP
(`http://127.0.0.1:<port>/mcp`) or SSE (`http://127.0.0.1:<port>/sse`), and is stopped (thread joined)
when its context exits:

    with McpTestServer(toolbox_server(), "sse") as server:
        ...  # connect to server.url
        assert server.open_requests == 0

`toolbox_server()` offers `add`, `search` (array parameter), `plan_trip` ($ref/$defs), `ping` (no
arguments), `fail` (a tool error), `sleep` (hangs), `lookup` (read-only) and `echo_headers` (the
request's Authorization and X-Custom headers, and its `traceparent` when there is one).
`paged_server()` is a low-level server whose `tools/list` answers two tools a page and whose tool
`explode` answers a JSON-RPC error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal, Protocol

import mcp.types as mt
import pytest
import uvicorn
from mcp.server import Server, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

Transport = Literal["streamable_http", "sse"]
TRANSPORTS: tuple[Transport, ...] = ("streamable_http", "sse")


class Place(BaseModel):
    """A city and its country."""

    city: str
    country: str = "FR"


class Trip(BaseModel):
    """A trip between two places (a nested model: the schema gets `$defs` and `$ref`)."""

    origin: Place
    destination: Place
    travellers: int = Field(default=1, ge=1)


def add(a: int, b: int) -> int:
    return a + b


def search(query: str, filters: list[str]) -> str:
    return f"{query}: {', '.join(filters)}"


def plan_trip(trip: Trip) -> str:
    return f"{trip.origin.city} -> {trip.destination.city} x{trip.travellers}"


def ping() -> str:
    return "pong"


def fail() -> str:
    raise ToolError("the tool failed on purpose")


async def sleep(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


def lookup(key: str) -> str:
    return f"value of {key}"


def echo_headers(ctx: Context) -> str:
    headers = ctx.headers or {}
    seen = {name: headers.get(name) for name in ("authorization", "x-custom")}
    if "traceparent" in headers:  # only when sent: a client that traces nothing sees the two keys alone
        seen["traceparent"] = headers["traceparent"]
    return json.dumps(seen)


def toolbox_server() -> MCPServer:
    """The toolbox: one tool per schema shape and failure mode the client must handle."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    server = MCPServer("toolbox", log_level="WARNING")
    root.handlers[:] = handlers  # MCPServer calls logging.basicConfig: undo it
    root.setLevel(level)
    server.add_tool(add, description="Add two integers.")
    server.add_tool(search, description="Search with filters.")
    server.add_tool(plan_trip, description="Plan a trip.")
    server.add_tool(ping, description="Answer pong.")
    server.add_tool(fail, description="Always fails.")
    server.add_tool(sleep, description="Sleep, then answer.")
    read_only = mt.ToolAnnotations(read_only_hint=True)
    server.add_tool(lookup, description="Read a value.", annotations=read_only)
    server.add_tool(
        echo_headers,
        description="Echo the request's Authorization and X-Custom headers, and its traceparent when sent.",
    )
    return server


PAGED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}},
    "required": ["zeta"],
}
"""Deliberately unsorted: a client must hand it on in this order."""

_PAGED_TOOLS = [
    mt.Tool(name=f"tool_{i}", description=f"Tool {i}.", input_schema=PAGED_SCHEMA) for i in range(5)
]


async def _paged_list(
    ctx: ServerRequestContext[Any], params: mt.PaginatedRequestParams | None
) -> mt.ListToolsResult:
    start = int(params.cursor) if params is not None and params.cursor else 0
    end = start + 2
    cursor = str(end) if end < len(_PAGED_TOOLS) else None
    return mt.ListToolsResult(tools=_PAGED_TOOLS[start:end], next_cursor=cursor)


async def _paged_call(ctx: ServerRequestContext[Any], params: mt.CallToolRequestParams) -> mt.CallToolResult:
    if params.name == "explode":
        raise MCPError(code=mt.INVALID_PARAMS, message="explode: bad params")
    return mt.CallToolResult(content=[mt.TextContent(type="text", text=params.name)])


def paged_server() -> Server[Any]:
    """A low-level server listing five tools, two per `tools/list` page (streamable HTTP only)."""
    return Server("paged", on_list_tools=_paged_list, on_call_tool=_paged_call)


class _RequestCounter:
    """ASGI middleware counting HTTP requests in flight (an open SSE stream is one). With `bearer`,
    it answers 401 to any request without `Authorization: Bearer <bearer>`, like an auth proxy."""

    def __init__(self, app: ASGIApp, bearer: str | None) -> None:
        self.app = app
        self.open = 0
        self.total = 0
        self._lock = threading.Lock()
        self._authorization = f"Bearer {bearer}".encode() if bearer else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.open += 1
            self.total += 1
        try:
            if self._authorization and (b"authorization", self._authorization) not in scope["headers"]:
                await JSONResponse({"error": "unauthorized"}, status_code=401)(scope, receive, send)
                return
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.open -= 1


def _app(server: MCPServer | Server[Any], transport: Transport, path: str | None) -> ASGIApp:
    if transport == "sse":
        if not isinstance(server, MCPServer):
            raise TypeError("the SSE transport is served by MCPServer only")
        return server.sse_app(sse_path=path or "/sse")
    return server.streamable_http_app(streamable_http_path=path or "/mcp")


class McpTestServer:
    """One MCP server on 127.0.0.1 over one transport, in a daemon thread. `path` is the endpoint
    (default `/mcp`, or `/sse` for SSE); with `bearer`, requests without that token get a 401."""

    def __init__(
        self,
        server: MCPServer | Server[Any],
        transport: Transport,
        path: str | None = None,
        bearer: str | None = None,
    ) -> None:
        self.transport = transport
        self.path = path or ("/sse" if transport == "sse" else "/mcp")
        self._counter = _RequestCounter(_app(server, transport, self.path), bearer)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self._counter, log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def port(self) -> int:
        port: int = self._sock.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def open_requests(self) -> int:
        """HTTP requests the server is still answering (0 once every client stream closed)."""
        return self._counter.open

    @property
    def total_requests(self) -> int:
        return self._counter.total

    async def wait_idle(self, limit_s: float = 2.0) -> int:
        """Wait until no request is in flight; the count left when `limit_s` ran out."""
        for _ in range(int(limit_s / 0.02)):
            if not self.open_requests:
                break
            await asyncio.sleep(0.02)
        return self.open_requests

    def start(self) -> McpTestServer:
        self._thread.start()
        for _ in range(500):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            raise RuntimeError("the MCP test server did not start")
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()

    def kill(self) -> None:
        """Stop at once, dropping open connections and requests in flight (a crashing server)."""
        self._server.force_exit = True
        self._server.config.timeout_graceful_shutdown = 0
        self.stop()

    def __enter__(self) -> McpTestServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class McpServerFactory(Protocol):
    """Starts a server (the toolbox unless `server` is given) and returns it, started."""

    def __call__(
        self,
        transport: Transport,
        *,
        server: MCPServer | Server[Any] | None = None,
        path: str | None = None,
        bearer: str | None = None,
    ) -> McpTestServer: ...


@pytest.fixture
def mcp_server_factory() -> Iterator[McpServerFactory]:
    """Start servers on demand, `factory("sse").url`; every one is stopped after the test."""
    started: list[McpTestServer] = []

    def start(
        transport: Transport,
        *,
        server: MCPServer | Server[Any] | None = None,
        path: str | None = None,
        bearer: str | None = None,
    ) -> McpTestServer:
        running = McpTestServer(server or toolbox_server(), transport, path, bearer).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def free_port() -> int:
    """A port with nothing listening on 127.0.0.1 (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
