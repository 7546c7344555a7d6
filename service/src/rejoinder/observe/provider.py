"""The provider seam: every upstream call measured (`gen_ai_client_operation_duration_seconds`,
`rejoinder_upstream_requests_total{provider,outcome}`), the call's record told which provider answered and
when its first token came, and, when tracing is on, a `chat {model}` client span per call (OpenTelemetry
GenAI attributes; the first token is its event `gen_ai.first_token`). The adapter's HTTP request is made
inside that span, so the `traceparent` it sends names it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode

from rejoinder.observe.observer import Observer
from rejoinder.observe.record import current
from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    ChatRequest,
    FinishDelta,
    Provider,
    TokenCount,
    UpstreamError,
    UpstreamModel,
    UsageDelta,
)


class ObservedProvider:
    """`Provider` over another, as it is named in the configuration."""

    def __init__(
        self, inner: Provider, name: str, observer: Observer, address: tuple[str, int] | None = None
    ) -> None:
        """`address`: the upstream's host and port, for the spans (None: a provider in this process)."""
        self._inner = inner
        self._name = name
        self._observer = observer
        self._address = address

    @property
    def inner(self) -> Provider:
        """The adapter observed."""
        return self._inner

    @property
    def capabilities(self) -> Capabilities:
        """The inner provider's."""
        return self._inner.capabilities

    async def stream(self, req: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        """The inner provider's deltas, the call measured (and traced)."""
        record = current()
        record.provider = self._name
        started, outcome = time.perf_counter(), "ok"
        span = self._span(req)
        deltas = self._inner.stream(req)
        source = deltas if span is None else _within(span, deltas)
        try:
            first = True
            async for delta in source:
                if record.first_token_s is None:
                    record.first_token()  # the call's first token (of its first upstream call)
                if span is not None:
                    if first:  # this upstream call's
                        _first(span, time.perf_counter() - started)
                    _describe(span, delta)
                first = False
                yield delta
        except UpstreamError as exc:
            outcome = exc.kind
            raise
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"
            raise
        finally:
            if source is not deltas:
                await _closed(source)
            await _closed(deltas)
            self._observer.upstream_call(self._name, outcome, time.perf_counter() - started)
            if span is not None:
                _end(span, outcome)

    def _span(self, req: ChatRequest) -> trace.Span | None:
        tracer = self._observer.tracer
        if tracer is None:
            return None
        attributes: dict[str, str | int | bool] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self._name,
            "gen_ai.request.model": req.model,
            "gen_ai.request.stream": req.stream,
        }
        if self._address is not None:
            attributes["server.address"], attributes["server.port"] = self._address
        return tracer.start_span(f"chat {req.model}", kind=SpanKind.CLIENT, attributes=attributes)

    async def models(self) -> list[UpstreamModel]:
        """The inner provider's (fetched without spans: a refresh every minute is not a trace to keep)."""
        if self._observer.tracer is None:
            return await self._inner.models()
        with suppress_instrumentation():
            return await self._inner.models()

    async def count_tokens(self, req: ChatRequest) -> TokenCount:
        """The inner provider's count."""
        return await self._inner.count_tokens(req)

    async def aclose(self) -> None:
        """Close the inner provider."""
        await self._inner.aclose()


async def _within(span: trace.Span, deltas: AsyncIterator[ChatDelta]) -> AsyncIterator[ChatDelta]:
    """`deltas`, each one pulled with `span` current (so the adapter's HTTP request is its child). The
    context is set and reset within each pull: the stream may be read by more than one task in turn."""
    inside = trace.set_span_in_context(span)
    while True:
        token = context.attach(inside)
        try:
            delta = await anext(deltas)
        except StopAsyncIteration:
            return
        finally:
            context.detach(token)
        yield delta


def _first(span: trace.Span, seconds: float) -> None:
    span.add_event("gen_ai.first_token")
    span.set_attribute("gen_ai.response.time_to_first_chunk", seconds)


def _describe(span: trace.Span, delta: ChatDelta) -> None:
    """What a delta tells the span: the usage, the finish reason."""
    if isinstance(delta, UsageDelta):
        span.set_attribute("gen_ai.usage.input_tokens", delta.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", delta.output_tokens)
    elif isinstance(delta, FinishDelta):
        span.set_attribute("gen_ai.response.finish_reasons", (delta.reason,))


def _end(span: trace.Span, outcome: str) -> None:
    if outcome != "ok":
        span.set_attribute("error.type", outcome)
        span.set_status(Status(StatusCode.ERROR))
    span.end()


async def _closed(deltas: AsyncIterator[ChatDelta]) -> None:
    """Close an upstream stream that was left early (its connection goes back or away now)."""
    if isinstance(deltas, AsyncGenerator):
        with contextlib.suppress(Exception):
            await deltas.aclose()
