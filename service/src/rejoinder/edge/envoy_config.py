"""The Envoy bootstrap for the REST/SSE edge (DESIGN.md sections 2 and 3), rendered as plain data.

`render_envoy_config(settings)` returns a dict that `json.dumps` turns into an Envoy bootstrap file
(Envoy reads `.json` bootstraps natively, so no YAML library is needed). The layout:

- One listener, HTTP/1.1 and cleartext HTTP/2 (`codec_type: AUTO`), filters
  `health_check (/healthz) -> health_check (/readyz) -> cors -> lua -> grpc_json_transcoder -> router`.
  `GET /healthz` is Envoy answering (liveness: 200 unless Envoy itself is failing); `GET /readyz` is 200
  while at least one gRPC replica passes Envoy's health check (`grpc.health.v1`, every 2 s), else 503.
  Lua stands before the transcoder so that, on the response path, it runs after it: it copies the
  server's `x-http-status` initial metadata into `:status` and strips `grpc-*` headers.
- The transcoder maps only `rejoinder.responses.v1.OpenAIHttpService`; requests with
  `content-type: application/grpc` (the typed `ResponsesService`, health checks, reflection) pass
  through untouched on the same listener. Unknown REST paths get a 404, bodies over
  `max_request_body_bytes` a 413, both in OpenAI's error shape via `local_reply_config`.
- Every request goes to one HTTP/2 cluster of gRPC replicas (`LEAST_REQUEST`: a replica busy with long
  streams gets fewer new ones; gRPC health checks),
  with `timeout: 0s` so streams are never cut, and retries on connection-level failures.

Metadata the server sees on a transcoded call: the transcoder rewrites `:path` to the gRPC method
and keeps the client's original path *with its query string* in the header `x-envoy-original-path`,
which reaches the gRPC server as the invocation metadata key ``x-envoy-original-path``
(e.g. ``/v1/responses/resp_1?include[]=a&include[]=b``); the original HTTP method arrives as
``x-envoy-original-method``. `x-request-id` is always present (Envoy generates one when the client
sent none) and is echoed on every reply, `authorization`, `openai-organization` and
`openai-project` pass through as sent.

With `access_log` set, Envoy writes one JSON line per request to that file (`ACCESS_LOG_FORMAT`: the
`x-request-id` the service's access lines carry too, the original path, status, gRPC status, times,
bytes, the caller's `traceparent`; never `authorization` or a body); health checks are left out.
Envoy reopens the file on SIGUSR1 (log rotation).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rejoinder.edge.envoy_replies import LUA_RESPONSE_FILTER, local_reply_config

TRANSCODED_SERVICE = "rejoinder.responses.v1.OpenAIHttpService"
UPSTREAM_CLUSTER = "rejoinder_grpc"
RETRY_ON = "connect-failure,refused-stream,reset-before-request"
# Envoy never times a call out itself: the service's own timeouts (per upstream: connect, first token,
# idle; MCP calls; the drain) end every call, in OpenAI's words, so a client never reads Envoy's. A
# non-stream response is silent until it is done, so no idle timeout of Envoy's could stay above them.
STREAM_IDLE_TIMEOUT = "0s"
# What Envoy does bound: a client slow to send its request (headers, then the whole body).
REQUEST_HEADERS_TIMEOUT = "10s"
REQUEST_TIMEOUT = "300s"
MAX_DOWNSTREAM_CONNECTIONS = 10_000
LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
READY_PERCENT = 1.0  # of the replicas, healthy: at least one (of up to a hundred)
ACCESS_LOG_FORMAT = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "method": "%REQ(X-ENVOY-ORIGINAL-METHOD?:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "bytes_received": "%BYTES_RECEIVED%",
    "bytes_sent": "%BYTES_SENT%",
    "duration_ms": "%DURATION%",
    "upstream_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    "upstream": "%UPSTREAM_HOST%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "user_agent": "%REQ(USER-AGENT)%",
    "traceparent": "%REQ(TRACEPARENT)%",
}

_TYPE = "@type"
_API = "type.googleapis.com/envoy.extensions"
_PREVIOUS_HOSTS = f"{_API}.retry.host.previous_hosts.v3.PreviousHostsPredicate"


@dataclass(frozen=True)
class EnvoySettings:
    """Everything the bootstrap depends on; the launcher builds one from the service config."""

    http_host: str
    http_port: int
    grpc_upstreams: tuple[tuple[str, int], ...]
    descriptor_path: Path
    admin_port: int | None = None
    max_request_body_bytes: int = 32 * 1024 * 1024
    access_log: str | None = None  # a file for Envoy's JSON access lines ("/dev/stdout" works too)
    max_response_body_bytes: int = 64 * 1024 * 1024


def render_envoy_config(settings: EnvoySettings) -> dict[str, Any]:
    """The complete Envoy bootstrap for `settings`, as JSON-ready data."""
    if not settings.grpc_upstreams:
        raise ValueError("EnvoySettings.grpc_upstreams is empty: Envoy needs at least one gRPC replica")
    bootstrap: dict[str, Any] = {
        "static_resources": {
            "listeners": [_listener(settings)],
            "clusters": [_cluster(settings.grpc_upstreams)],
        },
        "overload_manager": {"resource_monitors": [_connection_limit()]},
    }
    if settings.admin_port is not None:
        bootstrap["admin"] = {"address": _socket_address("127.0.0.1", settings.admin_port)}
    return bootstrap


def _connection_limit() -> dict[str, Any]:
    """A cap on open downstream connections (Envoy warns at start-up when there is none)."""
    return {
        "name": "envoy.resource_monitors.global_downstream_max_connections",
        "typed_config": {
            _TYPE: f"{_API}.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
            "max_active_downstream_connections": MAX_DOWNSTREAM_CONNECTIONS,
        },
    }


def _socket_address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _listener(settings: EnvoySettings) -> dict[str, Any]:
    return {
        "name": "rejoinder_http",
        "address": _socket_address(settings.http_host, settings.http_port),
        # Fail to bind instead of silently sharing a port with another process.
        "enable_reuse_port": False,
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": _http_connection_manager(settings),
                    }
                ]
            }
        ],
    }


def _http_connection_manager(settings: EnvoySettings) -> dict[str, Any]:
    manager: dict[str, Any] = {
        _TYPE: f"{_API}.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "rejoinder_http",
        "codec_type": "AUTO",
        "generate_request_id": True,
        "preserve_external_request_id": True,
        "always_set_request_id_in_response": True,
        "stream_idle_timeout": STREAM_IDLE_TIMEOUT,
        "request_headers_timeout": REQUEST_HEADERS_TIMEOUT,
        "request_timeout": REQUEST_TIMEOUT,
        "route_config": _route_config(),
        "http_filters": _http_filters(settings),
        "local_reply_config": local_reply_config(settings.max_request_body_bytes),
    }
    if settings.access_log is not None:
        manager["access_log"] = [_file_access_log(settings.access_log)]
    return manager


def _health_check(path: str, ready: bool) -> dict[str, Any]:
    """Envoy answers `path` itself; with `ready`, 503 unless a replica passes its health check."""
    config: dict[str, Any] = {
        _TYPE: f"{_API}.filters.http.health_check.v3.HealthCheck",
        "pass_through_mode": False,
        "headers": [{"name": ":path", "string_match": {"exact": path}}],
    }
    if ready:
        config["cluster_min_healthy_percentages"] = {UPSTREAM_CLUSTER: {"value": READY_PERCENT}}
    return {"name": "envoy.filters.http.health_check", "typed_config": config}


def _http_filters(settings: EnvoySettings) -> list[dict[str, Any]]:
    return [
        _health_check(LIVENESS_PATH, ready=False),
        _health_check(READINESS_PATH, ready=True),
        {"name": "envoy.filters.http.cors", "typed_config": {_TYPE: f"{_API}.filters.http.cors.v3.Cors"}},
        {
            "name": "envoy.filters.http.lua",
            "typed_config": {
                _TYPE: f"{_API}.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": LUA_RESPONSE_FILTER},
            },
        },
        {"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": _transcoder(settings)},
        {
            "name": "envoy.filters.http.router",
            "typed_config": {_TYPE: f"{_API}.filters.http.router.v3.Router"},
        },
    ]


def _transcoder(settings: EnvoySettings) -> dict[str, Any]:
    return {
        _TYPE: f"{_API}.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
        "proto_descriptor": str(settings.descriptor_path),
        "services": [TRANSCODED_SERVICE],
        "convert_grpc_status": True,
        "max_request_body_size": settings.max_request_body_bytes,
        "max_response_body_size": settings.max_response_body_bytes,
        "ignore_unknown_query_parameters": True,
        "request_validation_options": {"reject_unknown_method": True},
        "print_options": {"preserve_proto_field_names": True},
    }


def _route_config() -> dict[str, Any]:
    route = {
        "match": {"prefix": "/"},
        "route": {
            "cluster": UPSTREAM_CLUSTER,
            "timeout": "0s",
            "retry_policy": {
                "retry_on": RETRY_ON,
                "num_retries": 2,
                # a retry goes to another replica (or worker) than the one that just refused the connection
                "retry_host_predicate": [
                    {
                        "name": "envoy.retry_host_predicates.previous_hosts",
                        "typed_config": {_TYPE: _PREVIOUS_HOSTS},
                    }
                ],
                "host_selection_retry_max_attempts": 3,
            },
        },
    }
    return {
        "name": "rejoinder_routes",
        "virtual_hosts": [
            {
                "name": "rejoinder",
                "domains": ["*"],
                "routes": [route],
                "typed_per_filter_config": {"envoy.filters.http.cors": _cors_policy()},
            }
        ],
    }


def _cors_policy() -> dict[str, Any]:
    return {
        _TYPE: f"{_API}.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [{"safe_regex": {"regex": ".*"}}],
        "allow_methods": "GET, POST, DELETE, OPTIONS",
        "allow_headers": "authorization, content-type, openai-organization, openai-project, x-request-id, *",
        "expose_headers": "x-request-id, retry-after",
        "max_age": "86400",
    }


def _file_access_log(path: str) -> dict[str, Any]:
    return {
        "name": "envoy.access_loggers.file",
        "filter": {"not_health_check_filter": {}},
        "typed_config": {
            _TYPE: f"{_API}.access_loggers.file.v3.FileAccessLog",
            "path": path,
            "log_format": {"json_format": ACCESS_LOG_FORMAT},
        },
    }


def _cluster(upstreams: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    all_ips = all(_is_ip(host) for host, _ in upstreams)
    return {
        "name": UPSTREAM_CLUSTER,
        "type": "STATIC" if all_ips else "STRICT_DNS",
        "connect_timeout": "1s",
        "lb_policy": "LEAST_REQUEST",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                _TYPE: f"{_API}.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": UPSTREAM_CLUSTER,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _socket_address(h, p)}} for h, p in upstreams]}
            ],
        },
        "health_checks": [
            {
                "timeout": "1s",
                "interval": "2s",
                "no_traffic_interval": "2s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "grpc_health_check": {},
            }
        ],
    }


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
