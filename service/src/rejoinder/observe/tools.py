"""The tool seam, observed.

Every server-side call, of whatever kind, is measured where the loop runs it (`ObservedKind`):
`gen_ai_execute_tool_duration_seconds` and `rejoinder_tool_calls_total{tool,server_label,outcome}`
(outcome "ok", "tool_error" when the tool reported failure, or the failure's kind) and, when tracing is
on, a span `execute_tool {name}`; the kind only names the work (`CallRun.operation`).

MCP listings are measured the same way at the MCP session (`ObservedConnector`: the tool
`mcp_list_tools`, span `tools/list {label}`), and the session's HTTP requests carry the trace's
`traceparent` to the MCP server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence

from opentelemetry.trace import Status, StatusCode

from rejoinder.observe.observer import Observer
from rejoinder.observe.tracing import headers
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Annotation
from rejoinder.responses.v1.items_pb2 import InputItem, OutputItem
from rejoinder.responses.v1.tools_pb2 import Tool, ToolChoice
from rejoinder.tools.base import (
    CallRun,
    Events,
    ItemWriter,
    ToolCall,
    ToolKind,
    ToolOperation,
    ToolScope,
    ToolSet,
    Transcript,
)
from rejoinder.tools.mcp.contract import (
    CallResult,
    ListedTool,
    McpConnector,
    McpError,
    McpServerSpec,
    McpSession,
)


class ObservedCallRun:
    """A `CallRun` whose `run` is measured and traced."""

    def __init__(self, inner: CallRun, observer: Observer) -> None:
        self._inner = inner
        self._observer = observer

    @property
    def operation(self) -> ToolOperation:
        return self._inner.operation

    async def run(self) -> str:
        op = self._inner.operation
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": op.name,
            "gen_ai.tool.type": op.tool_type,
            **op.attributes,
        }
        started, outcome = time.perf_counter(), "cancelled"
        with self._observer.span(f"execute_tool {op.name}", attributes) as span:
            try:
                outcome = await self._inner.run()
                return outcome
            finally:
                self._observer.tool_call(op.tool, op.source, outcome, time.perf_counter() - started)
                if span is not None and outcome != "ok":
                    span.set_attribute("error.type", outcome)
                    span.set_status(Status(StatusCode.ERROR))

    def events(self, out: ItemWriter, finished: Awaitable[str]) -> Events:
        return self._inner.events(out, finished)


class ObservedToolSet:
    """A `ToolSet` whose calls are observed; everything else is the inner toolset's."""

    def __init__(self, inner: ToolSet, observer: Observer) -> None:
        self._inner = inner
        self._observer = observer

    def prepare(self, history: Sequence[InputItem], out: ItemWriter) -> Events:
        return self._inner.prepare(history, out)

    def offer(self, reserved: frozenset[str]) -> tuple[p.FunctionTool, ...]:
        return self._inner.offer(reserved)

    def names(self) -> frozenset[str]:
        return self._inner.names()

    def forced_by(self, choice: ToolChoice) -> frozenset[str] | None:
        return self._inner.forced_by(choice)

    def start(self, call: ToolCall) -> CallRun:
        return ObservedCallRun(self._inner.start(call), self._observer)

    def needs_approval(self, call: ToolCall) -> bool:
        return self._inner.needs_approval(call)

    def approval_request(self, call: ToolCall) -> OutputItem:
        return self._inner.approval_request(call)

    def approved(self, history: Sequence[InputItem], new: Sequence[InputItem]) -> list[ToolCall]:
        return self._inner.approved(history, new)

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        return self._inner.transcript(items)

    def annotations(self, text: str) -> list[Annotation]:
        return self._inner.annotations(text)


class ObservedKind:
    """A `ToolKind` whose toolsets' calls are observed."""

    def __init__(self, inner: ToolKind, observer: Observer) -> None:
        self._inner = inner
        self._observer = observer

    @property
    def tool_type(self) -> str:
        return self._inner.tool_type

    def toolset(self, tools: Sequence[Tool], scope: ToolScope) -> ToolSet | None:
        inner = self._inner.toolset(tools, scope)
        return ObservedToolSet(inner, self._observer) if inner is not None else None

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        return self._inner.transcript(items)

    def public(self, tool: Tool) -> Tool:
        return self._inner.public(tool)

    def check(self, tool: Tool, param: str, earlier: Sequence[Tool]) -> None:
        self._inner.check(tool, param, earlier)

    def check_choice(self, choice: ToolChoice, tools: Sequence[Tool]) -> None:
        self._inner.check_choice(choice, tools)

    async def admit(self, tools: Sequence[Tool], tenant: str) -> None:
        await self._inner.admit(tools, tenant)


class ObservedSession:
    """`McpSession` over another, each listing reported (calls are reported at the seam)."""

    def __init__(self, inner: McpSession, label: str, observer: Observer) -> None:
        self._inner = inner
        self._label = label
        self._observer = observer

    async def list_tools(self) -> list[ListedTool]:
        """The inner session's listing, reported as the tool `mcp_list_tools`."""
        started, outcome = time.perf_counter(), "ok"
        attributes = {"mcp.method.name": "tools/list", "mcp.server.label": self._label}
        with self._observer.span(f"tools/list {self._label}", attributes) as span:
            try:
                return await self._inner.list_tools()
            except McpError as exc:
                outcome = exc.kind
                raise
            finally:
                self._observer.tool_call(
                    "mcp_list_tools", self._label, outcome, time.perf_counter() - started
                )
                if span is not None and outcome != "ok":
                    span.set_attribute("error.type", outcome)
                    span.set_status(Status(StatusCode.ERROR))

    async def call_tool(self, name: str, arguments: Mapping[str, object]) -> CallResult:
        """The inner session's call (measured by `ObservedCallRun`)."""
        return await self._inner.call_tool(name, arguments)


class ObservedConnector:
    """`McpConnector` whose sessions' listings are observed."""

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
