"""The one object the seams report to: metrics (when on), spans (when tracing is on), the access log."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TypeAlias

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from rejoinder.observe import access
from rejoinder.observe.metrics import Metrics
from rejoinder.observe.record import CallRecord

Attributes: TypeAlias = Mapping[str, AttributeValue]
_NO_SPAN: contextlib.nullcontext[None] = contextlib.nullcontext()


class Observer:
    """Reports calls, upstream calls, tool runs, store operations and background runs."""

    def __init__(
        self,
        metrics: Metrics | None = None,
        tracer: trace.Tracer | None = None,
        access_log: access.AccessLog | None = None,
    ) -> None:
        """`metrics`: None when they are off (the access log is still written); `tracer`: None when
        tracing is off (then `span` costs one test); `access_log`: through `logging` unless given."""
        self.metrics = metrics
        self.tracer = tracer
        self._access = access_log or access.AccessLog()

    def span(
        self,
        name: str,
        attributes: Attributes | None = None,
        *,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        nested: bool = False,
    ) -> contextlib.AbstractContextManager[trace.Span | None]:
        """A span around a stage, current inside it (None when tracing is off). `nested`: only inside a
        trace already (work that also runs on its own, like the store's, starts no trace of its own)."""
        if self.tracer is None or (nested and not trace.get_current_span().get_span_context().is_valid):
            return _NO_SPAN
        return self.tracer.start_as_current_span(name, kind=kind, attributes=attributes)

    def annotate(self, attributes: Attributes) -> None:
        """Add `attributes` to the current span (the call's, or a stage's) when tracing is on."""
        if self.tracer is not None:
            trace.get_current_span().set_attributes(attributes)

    def call_ended(self, record: CallRecord, seconds: float, *, logged: bool = True) -> None:
        """A call ended: its access line (when `logged`), and its metrics."""
        if logged:
            self._access.call_ended(record, seconds)
        if self.metrics is not None:
            self.metrics.call_ended(record, seconds)

    def flush(self) -> None:
        """Write the access lines and count the metrics still waiting (`observe.batches`): the server
        stops."""
        self._access.flush()
        if self.metrics is not None:
            self.metrics.flush()

    def tokens(self, record: CallRecord) -> None:
        """A response's run ended: the tokens in `record` count (also when its call ended long before)."""
        if self.metrics is not None:
            self.metrics.tokens(record)

    def upstream_call(self, provider: str, outcome: str, seconds: float) -> None:
        """An upstream call ended: `outcome` "ok" or the failure's kind (timeout, connect, status, ...)."""
        if self.metrics is not None:
            self.metrics.upstream_call(provider, outcome, seconds)

    def tool_call(self, tool: str, server_label: str, outcome: str, seconds: float) -> None:
        """A tool run (an MCP listing or call) ended."""
        if self.metrics is not None:
            label = self.metrics.server_label(server_label)
            self.metrics.tool_calls.labels(tool, label, outcome).inc()
            self.metrics.tool_duration.labels(tool, label, outcome).observe(seconds)

    def store_op(self, operation: str, seconds: float) -> None:
        """A store operation took `seconds`."""
        if self.metrics is not None:
            self.metrics.child(self.metrics.store_duration, operation).observe(seconds)

    def stream(self, surface: str, delta: int) -> None:
        """A stream opened (+1) or ended (-1)."""
        if self.metrics is not None:
            self.metrics.child(self.metrics.active_streams, surface).inc(delta)

    def background(self, running: int, ended: str | None = None) -> None:
        """This replica runs `running` background runs now; one just ended with status `ended`."""
        if self.metrics is not None:
            self.metrics.background_running.set(running)
            if ended is not None:
                self.metrics.background_ended.labels(ended).inc()

    def rate_limited(self, limit: str) -> None:
        """A create call was refused by its tenant's `limit` (requests, tokens, concurrent)."""
        if self.metrics is not None:
            self.metrics.rate_limited.labels(limit).inc()


SILENT = Observer()
"""For tests and tools that build the core without a server: access lines only (logging decides)."""
