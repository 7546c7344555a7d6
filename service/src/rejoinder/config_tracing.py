"""Tracing from the standard `OTEL_*` environment variables: off unless they ask for it.

OpenTelemetry's own default exporter is OTLP, which would make every start try to reach a collector on
localhost:4317; here tracing stays off until one of these says otherwise:
- `OTEL_TRACES_EXPORTER`: `otlp`, `console` (spans printed as JSON on stdout), both comma-separated, or
  `none`;
- `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`: set alone, they mean `otlp`;
- `OTEL_SDK_DISABLED=true` turns tracing off whatever else is set.
`OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` picks `grpc` (the default, as in OpenTelemetry's Python SDK) or
`http/protobuf`; `OTEL_SERVICE_NAME` names the service (default "rejoinder"). The exporter's other settings
(endpoint, headers, certificates, timeout, compression) and the sampler (`OTEL_TRACES_SAMPLER`,
`OTEL_TRACES_SAMPLER_ARG`) are read by the OpenTelemetry SDK itself, as its documentation defines them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Exporter = Literal["otlp", "console"]
Protocol = Literal["grpc", "http/protobuf"]
EXPORTERS: tuple[Exporter, ...] = ("otlp", "console")
PROTOCOLS: tuple[Protocol, ...] = ("grpc", "http/protobuf")
_TRUE = ("true", "1", "yes", "on")


@dataclass(frozen=True)
class TracingSettings:
    """Where spans go; no exporters: tracing is off."""

    exporters: tuple[Exporter, ...] = ()
    protocol: Protocol = "grpc"
    service_name: str = "rejoinder"

    @property
    def on(self) -> bool:
        """Whether spans are made at all."""
        return bool(self.exporters)


def _exporters(env: Mapping[str, str]) -> tuple[Exporter, ...]:
    named = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not named:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        return ("otlp",) if endpoint else ()
    chosen: list[Exporter] = []
    for name in (part.strip() for part in named.split(",")):
        if name == "none":
            return ()
        if name not in EXPORTERS:
            raise ValueError(f"OTEL_TRACES_EXPORTER: {name!r} is not one of otlp, console, none")
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def tracing_settings(env: Mapping[str, str]) -> TracingSettings:
    """The tracing settings the environment asks for. Raises `ValueError` naming a bad variable."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return TracingSettings()
    exporters = _exporters(env)
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
    ).strip()
    if protocol not in PROTOCOLS:
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not grpc or http/protobuf")
    name = env.get("OTEL_SERVICE_NAME", "").strip() or "rejoinder"
    return TracingSettings(exporters, protocol, name)
