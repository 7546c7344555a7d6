"""OpenTelemetry tracing, built from `TracingSettings` (off: nothing here runs at all).

When on, the service gets
- a tracer provider of its own (never installed as OpenTelemetry's global one), exporting in batches
  through OTLP (gRPC or HTTP) and/or to the console;
- the gRPC server interceptor of `opentelemetry-instrumentation-grpc`: one server span per call, child of
  the caller's W3C `traceparent` (sent as gRPC metadata, or as an HTTP header that Envoy passes on);
  health checks and reflection are left out;
- aiohttp trace configs from `opentelemetry-instrumentation-aiohttp-client` for the upstream sessions: a
  client span per HTTP request and the `traceparent` header sent with it;
- `headers()`: the current context in W3C form, for the MCP sessions' HTTP headers.
The spans of the service's own stages (validation, context, upstream calls, tool runs, store writes) are
made through `Observer.span` with `tracer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from rejoinder.config_tracing import TracingSettings

if TYPE_CHECKING:
    import aiohttp

QUIET = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)
SCOPE = "rejoinder"


def _otlp(settings: TracingSettings) -> SpanExporter:
    if settings.protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        return HttpExporter()
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

    return GrpcExporter()


class Tracing:
    """The tracer provider and the instrumentation that use it."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: trace.Tracer = provider.get_tracer(SCOPE)

    @classmethod
    def from_settings(
        cls, settings: TracingSettings, *, instance: str = "", version: str = ""
    ) -> Tracing | None:
        """Tracing as `settings` ask for it, or None when they leave it off."""
        if not settings.on:
            return None
        attributes = {"service.name": settings.service_name}
        if instance:
            attributes["service.instance.id"] = instance
        if version:
            attributes["service.version"] = version
        provider = TracerProvider(resource=Resource.create(attributes))
        for name in settings.exporters:
            exporter = _otlp(settings) if name == "otlp" else ConsoleSpanExporter()
            provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider)

    @classmethod
    def to(cls, exporter: SpanExporter) -> Tracing:
        """Tracing whose every span goes to `exporter` as it ends (tests: the SDK's in-memory exporter)."""
        provider = TracerProvider(resource=Resource.create({"service.name": SCOPE}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        return cls(provider)

    def server_interceptors(self) -> list[grpc.aio.ServerInterceptor[Any, Any]]:
        """The gRPC server's interceptors: one span per call, in the caller's trace."""
        from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters

        make: Callable[..., grpc.aio.ServerInterceptor[Any, Any]] = aio_server_interceptor
        quiet = filters.any_of(*(filters.service_name(name) for name in QUIET))
        return [make(tracer_provider=self.provider, filter_=filters.negate(quiet))]

    def client_trace_configs(self) -> list[aiohttp.TraceConfig]:
        """For an upstream's aiohttp session: a span per request, `traceparent` sent along."""
        from opentelemetry.instrumentation.aiohttp_client import create_trace_config

        return [create_trace_config(tracer_provider=self.provider)]

    def shutdown(self) -> None:
        """Export what is left, then stop."""
        self.provider.shutdown()


def headers() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`, `tracestate`); empty outside a trace."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def trace_id_of(traceparent: str | None) -> str:
    """The trace id of a W3C `traceparent` value ("" when there is none or it is malformed)."""
    if not traceparent:
        return ""
    parts = traceparent.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return ""
    try:
        int(parts[1], 16)
    except ValueError:
        return ""
    return parts[1].lower()
