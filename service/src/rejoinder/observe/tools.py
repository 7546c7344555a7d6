"""The tool seam: every MCP listing and call measured (`gen_ai_execute_tool_duration_seconds`,
`rejoinder_tool_calls_total{tool,server_label,outcome}`; outcome "ok", "tool_error" when the tool
reported failure, or the failure's kind) and, when tracing is on, a span each (`tools/list {label}`,
`execute_tool {name}`); the session's HTTP requests carry the trace's `traceparent` to the MCP server."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import TypeVar

from opentelemetry.trace import Status, StatusCode

from rejoinder.observe.observer import Attributes, Observer
from rejoinder.observe.tracing import headers
from rejoinder.tools.base import CallResult, ListedTool, McpConnector, McpError, McpServerSpec, McpSession

T = TypeVar("T")


class ObservedSession:
    """`McpSession` over another, each listing and call reported."""

    def __init__(self, inner: McpSession, label: str, observer: Observer) -> None:
        self._inner = inner
        self._label = label
        self._observer = observer

    async def _timed(self, tool: str, work: Awaitable[T], span_name: str, attributes: Attributes) -> T:
        started, outcome = time.perf_counter(), "ok"
        with self._observer.span(span_name, {**attributes, "mcp.server.label": self._label}) as span:
            try:
                result = await work
                if isinstance(result, CallResult) and result.is_error:
                    outcome = "tool_error"
                return result
            except McpError as exc:
                outcome = exc.kind
                raise
            finally:
                self._observer.tool_call(tool, self._label, outcome, time.perf_counter() - started)
                if span is not None and outcome != "ok":
                    span.set_attribute("error.type", outcome)
                    span.set_status(Status(StatusCode.ERROR))

    async def list_tools(self) -> list[ListedTool]:
        """The inner session's listing, reported as the tool `mcp_list_tools`."""
        listing = {"mcp.method.name": "tools/list"}
        return await self._timed(
            "mcp_list_tools", self._inner.list_tools(), f"tools/list {self._label}", listing
        )

    async def call_tool(self, name: str, arguments: Mapping[str, object]) -> CallResult:
        """The inner session's call, reported as the tool `mcp_call`."""
        call = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "extension",
            "mcp.method.name": "tools/call",
        }
        work = self._inner.call_tool(name, arguments)
        return await self._timed("mcp_call", work, f"execute_tool {name}", call)


class ObservedConnector:
    """`McpConnector` whose sessions are observed."""

    def __init__(self, inner: McpConnector, observer: Observer) -> None:
        self._inner = inner
        self._observer = observer

    @contextlib.asynccontextmanager
    async def connect(self, server: McpServerSpec) -> AsyncIterator[McpSession]:
        """A session with `server`, observed; in a trace, its requests carry the trace's context (headers
        the tool's definition sets itself are kept)."""
        if self._observer.tracer is not None:
            server = _traced(server)
        async with self._inner.connect(server) as session:
            yield ObservedSession(session, server.label, self._observer)


def _traced(server: McpServerSpec) -> McpServerSpec:
    """`server` with the current trace context among its headers (W3C `traceparent`, `tracestate`)."""
    own = {name.lower() for name in server.headers}
    added = {name: value for name, value in headers().items() if name.lower() not in own}
    return dataclasses.replace(server, headers={**server.headers, **added}) if added else server
