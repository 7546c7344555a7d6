"""`SdkMcpConnector`: the `McpConnector` contract implemented with the `mcp` SDK (v2).

The only module that imports `mcp` (and `httpx2`, the HTTP client its transports take).

Each session lives in an owner task of its own. The SDK transports hold anyio task groups open for the
whole session, and a transport failure (refused connection, dropped server) cancels whatever runs
inside them. The owner task enters the transport and `ClientSession` through an `AsyncExitStack` and
exits them itself, so those cancel scopes are entered and exited in one task and a dying transport
never cancels the caller. The caller only sends requests on the session, each bounded by a timeout.

    connector = SdkMcpConnector(McpSettings(call_timeout_s=30, deny_hosts=("*.internal",)))
    async with connector.connect(McpServerSpec("docs", "https://mcp.example.com/mcp")) as session:
        tools = await session.list_tools()
        result = await session.call_tool("search", {"query": "x"})
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import anyio
import httpx2
import mcp.types as mt
import orjson
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from rejoinder.tools.mcp.contract import (
    CallResult,
    ListedTool,
    McpError,
    McpErrorKind,
    McpServerSpec,
    McpSession,
)
from rejoinder.tools.mcp.policy import (
    ErrorSpeaker,
    HttpErrors,
    McpSettings,
    Target,
    Transport,
    check_target,
    exception_leaves,
    request_headers,
    secrets_of,
)

__all__ = ["McpSettings", "SdkMcpConnector"]

_T = TypeVar("_T")

_STREAM_READ_TIMEOUT_S = 300.0  # idle limit of a response stream; every request has its own bound
_MAX_PAGES = 100
_FALLBACK_STATUSES = (404, 405)


def _root_cause(exc: BaseException) -> BaseException:
    """The most telling exception of a (possibly nested) exception group."""
    leaves = exception_leaves(exc)
    telling = (McpError, MCPError, httpx2.HTTPError, OSError, TimeoutError)
    return next((leaf for leaf in leaves if isinstance(leaf, telling)), leaves[0])


def _classify(exc: BaseException) -> tuple[McpErrorKind, str, int]:
    """(kind, detail, code) for one SDK or transport exception. Details never quote URLs."""
    match exc:
        case McpError():
            return exc.kind, exc.message, exc.code
        case MCPError() if exc.code == mt.REQUEST_TIMEOUT:
            return "timeout", "request timed out", 0
        case MCPError() if exc.code == mt.CONNECTION_CLOSED:
            return "connect", "connection closed", 0
        case MCPError():
            return "protocol", f"JSON-RPC error {exc.code}: {exc.message}", exc.code
        case httpx2.HTTPStatusError():
            status = exc.response.status_code
            return "http", f"HTTP {status}", status
        case httpx2.TimeoutException() | TimeoutError():
            return "timeout", "timed out", 0
        case httpx2.ConnectError():
            return "connect", f"cannot connect ({exc})", 0
        case httpx2.HTTPError() | OSError():
            return "connect", f"connection failed ({type(exc).__name__})", 0
        case _:
            return "protocol", f"invalid response ({type(exc).__name__}: {exc})", 0


def _explain(speaker: ErrorSpeaker, exc: BaseException, what: str, http: HttpErrors, seen: int) -> McpError:
    """`exc` as an McpError; an HTTP error status seen since `seen` makes it an "http" error."""
    cause = _root_cause(exc)
    if isinstance(cause, McpError):
        return cause
    kind, detail, code = _classify(cause)
    if http.count > seen and kind != "http":
        return speaker.error("http", what, f"HTTP {http.last} ({detail})", http.last)
    return speaker.error(kind, what, detail, code)


class _Owner:
    """Runs one session's transport and `ClientSession` in its own task, from open to close."""

    def __init__(self, server: McpServerSpec, target: Target, settings: McpSettings) -> None:
        self._server = server
        self._target = target
        self._settings = settings
        self.http = HttpErrors()
        self.speaker = ErrorSpeaker(server.label, target.host, secrets_of(server))
        self.session: ClientSession | None = None
        self.error: McpError | None = None
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        """The owner task: open, initialize, wait for `close`, close (all in this task)."""
        try:
            async with AsyncExitStack() as stack:
                self.session = await self._open(stack)
                self.ready.set()
                await self._stop.wait()
        except asyncio.CancelledError:
            raise
        except (Exception, BaseExceptionGroup) as exc:
            if self.error is None:
                self.error = _explain(self.speaker, exc, "session", self.http, 0)
        finally:
            if self.error is None and not self._stop.is_set():
                self.error = self.speaker.error("connect", "session", "the session ended")
            self.ready.set()

    async def _open(self, stack: AsyncExitStack) -> ClientSession:
        try:
            return await self._open_with(stack, self._target.transport)
        except McpError as err:
            fallback = err.kind == "http" and err.code in _FALLBACK_STATUSES
            if not (self._target.sse_fallback and fallback):
                raise
        return await self._open_with(stack, "sse")

    async def _open_with(self, stack: AsyncExitStack, transport: Transport) -> ClientSession:
        """Open `transport` and initialize; on failure everything this attempt opened is closed."""
        seen = self.http.count
        try:
            async with AsyncExitStack() as attempt:
                session = await self._enter(attempt, transport)
                await session.initialize()
                stack.push_async_exit(attempt.pop_all())
                return session
        except (Exception, BaseExceptionGroup) as exc:
            raise _explain(self.speaker, exc, "initialize", self.http, seen) from None

    async def _enter(self, attempt: AsyncExitStack, transport: Transport) -> ClientSession:
        headers = request_headers(self._server)
        connect_s = self._settings.connect_timeout_s
        if transport == "sse":
            streams = sse_client(
                self._target.url,
                headers=headers,
                timeout=connect_s,
                sse_read_timeout=_STREAM_READ_TIMEOUT_S,
                httpx_client_factory=self._client,
            )
            read, write = await attempt.enter_async_context(streams)
        else:
            timeout = httpx2.Timeout(connect_s, read=_STREAM_READ_TIMEOUT_S)
            client = await attempt.enter_async_context(self._client(headers, timeout))
            read, write = await attempt.enter_async_context(
                streamable_http_client(self._target.url, http_client=client)
            )
        return await attempt.enter_async_context(ClientSession(read, write))

    def _client(
        self,
        headers: Mapping[str, Any] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        """The HTTP client of a transport (the SDK's `McpHttpClientFactory` shape) with the status hook."""
        return httpx2.AsyncClient(
            headers=dict(headers or {}),
            timeout=timeout or httpx2.Timeout(self._settings.connect_timeout_s, read=_STREAM_READ_TIMEOUT_S),
            auth=auth,
            event_hooks={"response": [self._record_status]},
        )

    async def _record_status(self, response: httpx2.Response) -> None:
        """Response hook: the SDK turns 4xx/5xx answers into JSON-RPC errors (or, over SSE, into a
        request never answered), so the status is recorded here."""
        self.http.record(response.status_code)

    async def wait_ready(self, limit_s: float) -> ClientSession:
        """The initialized session. Raises `McpError` if opening failed or took over `limit_s`."""
        try:
            async with asyncio.timeout(limit_s):
                await self.ready.wait()
        except TimeoutError:
            raise self.speaker.error("timeout", "initialize", f"timed out after {limit_s:g}s") from None
        if self.error is not None:
            raise self.error
        if self.session is None:
            raise self.speaker.error("connect", "initialize", "the session ended")
        return self.session

    async def bounded(self, op: Callable[[], Awaitable[_T]], limit_s: float, what: str) -> _T:
        """Run one request on the session within `limit_s`; every failure becomes an `McpError`."""
        if self.error is not None:
            raise self.error
        seen = self.http.count
        try:
            with anyio.fail_after(limit_s):
                return await op()
        except TimeoutError:
            err = self.speaker.error("timeout", what, f"timed out after {limit_s:g}s")
            if self.http.count > seen:
                err = self.speaker.error("http", what, f"HTTP {self.http.last}", self.http.last)
            raise err from None
        except Exception as exc:
            raise _explain(self.speaker, exc, what, self.http, seen) from None

    async def close(self, task: asyncio.Task[None], limit_s: float) -> None:
        """Ask the owner task to close the session; cancel it if that takes over `limit_s`, or at once
        when the session never opened (it may still be stuck connecting)."""
        self._stop.set()
        if self.session is None:
            task.cancel()
        try:
            with anyio.CancelScope(shield=True):
                done, _ = await asyncio.wait({task}, timeout=limit_s)
                if not done:
                    task.cancel()
                    await asyncio.wait({task}, timeout=limit_s)
        except asyncio.CancelledError:
            task.cancel()  # the caller is cancelled again while closing: the owner ends on its own
            raise
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio never reports it (run() catches everything anyway)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _listed(tool: mt.Tool) -> ListedTool:
    """A listed tool; the input schema keeps the server's key order, `$ref`s and `$defs`."""
    annotations = tool.annotations
    return ListedTool(
        name=tool.name,
        description=tool.description,
        input_schema=_json(tool.input_schema),
        annotations=(
            _json(annotations.model_dump(mode="json", by_alias=True, exclude_none=True))
            if annotations is not None
            else None
        ),
        read_only=annotations is not None and annotations.read_only_hint is True,
    )


def _call_result(result: mt.CallToolResult) -> CallResult:
    """Content as the MCP spec shapes it (camelCase keys), text parts joined with newlines."""
    content = [block.model_dump(mode="json", by_alias=True, exclude_none=True) for block in result.content]
    text = "\n".join(block.text for block in result.content if isinstance(block, mt.TextContent))
    return CallResult(text=text, content=_json(content), is_error=result.is_error)


class _SdkSession:
    """`McpSession` over an initialized `ClientSession` run by an `_Owner`."""

    def __init__(self, session: ClientSession, owner: _Owner, settings: McpSettings) -> None:
        self._session = session
        self._owner = owner
        self._settings = settings

    async def list_tools(self) -> list[ListedTool]:
        return await self._owner.bounded(self._list_pages, self._settings.list_timeout_s, "tools/list")

    async def _list_pages(self) -> list[ListedTool]:
        tools: list[ListedTool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            params = mt.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await self._session.list_tools(params=params)
            tools.extend(_listed(tool) for tool in page.tools)
            cursor = page.next_cursor
            if not cursor:
                return tools
        raise self._owner.speaker.error("protocol", "tools/list", f"more than {_MAX_PAGES} pages")

    async def call_tool(self, name: str, arguments: Mapping[str, object]) -> CallResult:
        async def call() -> CallResult:
            return _call_result(await self._session.call_tool(name, dict(arguments)))

        return await self._owner.bounded(call, self._settings.call_timeout_s, f"tools/call {name!r}")


class SdkMcpConnector:
    """Opens MCP sessions over streamable HTTP or SSE, within `settings`' host policy and timeouts."""

    def __init__(self, settings: McpSettings) -> None:
        self._settings = settings

    def connect(self, server: McpServerSpec) -> AbstractAsyncContextManager[McpSession]:
        """A session with `server`; entering raises `McpError` (blocked, malformed, unreachable,
        timeout). Exiting closes the session and its transport, also after errors or cancellation."""
        return self._connect(server)

    @asynccontextmanager
    async def _connect(self, server: McpServerSpec) -> AsyncIterator[McpSession]:
        target = check_target(server, self._settings)
        owner = _Owner(server, target, self._settings)
        task = asyncio.create_task(owner.run(), name=f"mcp-session-{server.label}")
        try:
            session = await owner.wait_ready(self._settings.connect_timeout_s)
            yield _SdkSession(session, owner, self._settings)
        finally:
            await owner.close(task, self._settings.connect_timeout_s)
