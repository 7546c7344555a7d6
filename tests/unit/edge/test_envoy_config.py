"""The pure Envoy bootstrap renderer: listener, filter chain, routes, cluster, local replies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rejoinder.edge.envoy_config import (
    LUA_RESPONSE_FILTER,
    EnvoySettings,
    render_envoy_config,
)


def _settings(**overrides: Any) -> EnvoySettings:
    base: dict[str, Any] = {
        "http_host": "127.0.0.1",
        "http_port": 8080,
        "grpc_upstreams": (("127.0.0.1", 50051), ("127.0.0.1", 50052)),
        "descriptor_path": Path("/srv/rejoinder.binpb"),
        "admin_port": 9901,
        "max_request_body_bytes": 1000,
    }
    return EnvoySettings(**{**base, **overrides})


def _manager(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    manager: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager


def _filter(config: dict[str, Any], name: str) -> dict[str, Any]:
    found = next(f for f in _manager(config)["http_filters"] if f["name"] == name)
    typed_config: dict[str, Any] = found["typed_config"]
    return typed_config


def _route(config: dict[str, Any]) -> dict[str, Any]:
    routes = _manager(config)["route_config"]["virtual_hosts"][0]["routes"]
    assert len(routes) == 1
    route: dict[str, Any] = routes[0]
    return route


def _cluster(config: dict[str, Any]) -> dict[str, Any]:
    clusters = config["static_resources"]["clusters"]
    assert len(clusters) == 1
    cluster: dict[str, Any] = clusters[0]
    return cluster


def test_one_listener_speaks_http1_and_h2c_on_the_given_address() -> None:
    config = render_envoy_config(_settings())
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"] == {"socket_address": {"address": "127.0.0.1", "port_value": 8080}}
    assert listener["enable_reuse_port"] is False
    assert _manager(config)["codec_type"] == "AUTO"


def test_filter_order_is_health_cors_lua_transcoder_router() -> None:
    names = [f["name"] for f in _manager(render_envoy_config(_settings()))["http_filters"]]
    assert names == [
        "envoy.filters.http.health_check",
        "envoy.filters.http.health_check",
        "envoy.filters.http.cors",
        "envoy.filters.http.lua",
        "envoy.filters.http.grpc_json_transcoder",
        "envoy.filters.http.router",
    ]


def test_envoy_answers_liveness_itself_and_readiness_from_the_replicas_health() -> None:
    live, ready = (f["typed_config"] for f in _manager(render_envoy_config(_settings()))["http_filters"][:2])
    assert live["headers"] == [{"name": ":path", "string_match": {"exact": "/healthz"}}]
    assert ready["headers"] == [{"name": ":path", "string_match": {"exact": "/readyz"}}]
    assert live["pass_through_mode"] is False and ready["pass_through_mode"] is False
    assert "cluster_min_healthy_percentages" not in live
    assert ready["cluster_min_healthy_percentages"] == {"rejoinder_grpc": {"value": 1.0}}  # any replica


def test_transcoder_maps_only_the_http_bridge() -> None:
    transcoder = _filter(render_envoy_config(_settings()), "envoy.filters.http.grpc_json_transcoder")
    assert transcoder["proto_descriptor"] == "/srv/rejoinder.binpb"
    assert transcoder["services"] == ["rejoinder.responses.v1.OpenAIHttpService"]
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["max_request_body_size"] == 1000
    assert transcoder["ignore_unknown_query_parameters"] is True
    assert transcoder["request_validation_options"] == {"reject_unknown_method": True}


def test_lua_filter_is_the_designed_one_and_spares_native_grpc() -> None:
    lua = _filter(render_envoy_config(_settings()), "envoy.filters.http.lua")
    source = lua["default_source_code"]["inline_string"]
    assert source == LUA_RESPONSE_FILTER
    assert 'local s = headers:get("x-http-status")' in source
    assert 'if s ~= nil then headers:replace(":status", s) end' in source
    assert 'if headers:get("x-rejoinder-query-error") ~= nil then' in source  # rewrites marked replies only
    assert '{"x-http-status","grpc-status","grpc-message","grpc-accept-encoding"}' in source
    assert '== "application/grpc" then return end' in source


def test_route_never_times_out_and_retries_connection_failures() -> None:
    route = _route(render_envoy_config(_settings()))
    assert route["match"] == {"prefix": "/"}
    assert route["route"]["timeout"] == "0s"
    assert route["route"]["cluster"] == "rejoinder_grpc"
    assert route["route"]["retry_policy"]["retry_on"] == "connect-failure,refused-stream,reset-before-request"


def test_cluster_is_http2_round_robin_with_grpc_health_checks() -> None:
    cluster = _cluster(render_envoy_config(_settings()))
    assert cluster["name"] == "rejoinder_grpc"
    assert cluster["type"] == "STATIC"
    assert cluster["lb_policy"] == "LEAST_REQUEST"
    options = cluster["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]
    assert options["explicit_http_config"] == {"http2_protocol_options": {}}
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    ports = [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints]
    assert ports == [50051, 50052]
    [check] = cluster["health_checks"]
    assert check["grpc_health_check"] == {}
    assert check["no_traffic_interval"] == "2s"


def test_host_names_need_dns() -> None:
    cluster = _cluster(render_envoy_config(_settings(grpc_upstreams=(("grpc-replica", 50051),))))
    assert cluster["type"] == "STRICT_DNS"


def test_request_id_is_generated_kept_and_echoed() -> None:
    manager = _manager(render_envoy_config(_settings()))
    assert manager["generate_request_id"] is True
    assert manager["preserve_external_request_id"] is True
    assert manager["always_set_request_id_in_response"] is True


def test_local_replies_use_openai_error_shape_and_words() -> None:
    health = _manager(render_envoy_config(_settings()))["local_reply_config"]["mappers"][:2]
    mappers = _manager(render_envoy_config(_settings()))["local_reply_config"]["mappers"][2:]
    assert [m["body"]["inline_string"] for m in health] == ["ok\n", "unavailable\n"]  # the health routes'
    assert {m["body_format_override"]["content_type"] for m in health} == {"text/plain; charset=utf-8"}
    errors = [m["body_format_override"]["json_format"]["error"] for m in mappers]
    assert [(e["type"], e["code"]) for e in errors] == [
        ("invalid_request_error", None),  # 404
        ("invalid_request_error", "request_too_large"),  # 413
        ("invalid_request_error", "request_too_large"),  # 431
        ("invalid_request_error", None),  # 400: the Lua filter rewrites it
        ("server_error", None),  # 503
        ("server_error", None),  # 504
        ("server_error", None),  # other 5xx
        ("invalid_request_error", None),  # anything else
    ]
    assert errors[0]["message"] == "Invalid URL (%REQ(:METHOD)% %REQ(:PATH):120%)"
    assert "limit of 1000 bytes" in errors[1]["message"]
    for mapper, error in zip(mappers, errors, strict=True):
        assert set(error) == {"message", "type", "param", "code"} and error["param"] is None
        assert mapper["body_format_override"]["content_type"] == "application/json"
        assert error["message"] == "%LOCAL_REPLY_BODY%" or "%LOCAL_REPLY_BODY%" not in error["message"]
    assert '"param": null' in json.dumps(errors[0])


def test_admin_listens_on_loopback_only_or_not_at_all() -> None:
    with_admin = render_envoy_config(_settings(admin_port=9901))
    assert with_admin["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 9901}
    assert "admin" not in render_envoy_config(_settings(admin_port=None))


def test_access_log_is_optional() -> None:
    assert "access_log" not in _manager(render_envoy_config(_settings()))
    (logger,) = _manager(render_envoy_config(_settings(access_log="/data/envoy/access.log")))["access_log"]
    assert logger["filter"] == {"not_health_check_filter": {}}
    config = logger["typed_config"]
    assert config["path"] == "/data/envoy/access.log"
    fields = config["log_format"]["json_format"]
    assert fields["request_id"] == "%REQ(X-REQUEST-ID)%"  # joins the service's access lines
    assert fields["path"] == "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"  # the REST path, not the gRPC method's
    assert not any("AUTHORIZATION" in value.upper() for value in fields.values())


def test_config_is_plain_json() -> None:
    config = render_envoy_config(_settings())
    assert json.loads(json.dumps(config)) == config


def test_no_upstream_is_an_error() -> None:
    with pytest.raises(ValueError, match="grpc_upstreams"):
        render_envoy_config(_settings(grpc_upstreams=()))


def test_envoy_never_times_a_call_out_itself_but_bounds_a_slow_request() -> None:
    manager = _manager(render_envoy_config(_settings()))
    assert manager["stream_idle_timeout"] == "0s"  # the service's timeouts end every call, in its words
    assert (manager["request_headers_timeout"], manager["request_timeout"]) == ("10s", "300s")
    assert _route(render_envoy_config(_settings()))["route"]["timeout"] == "0s"
