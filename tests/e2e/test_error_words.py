"""Errors say what the user can act on and nothing more: no upstream internals, none of Envoy's words,
no huge echoes; the details go to the log with the request id. Bytes that are not protobuf are
INVALID_ARGUMENT; a request with nothing to answer and an impossible `max_output_tokens` are our 400s."""

from __future__ import annotations

import grpc
import httpx
import openai
import orjson
import pytest
from google.api.httpbody_pb2 import HttpBody
from openai import OpenAI

from rejoinder.responses.v1 import responses_service_pb2 as pb
from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
from rejoinder.responses.v1.items_pb2 import Input
from tests.e2e.service_process import ServiceProcess
from tests.e2e.test_grpc import _details
from tests.scripted_upstream import Script, ScriptedUpstream

INTERNALS = ("127.0.0.1", "Cannot connect", "ssl:default", "aiohttp", "Traceback", "TYPE_INT", "transcoder")


def _error(reply: httpx.Response, status: int) -> dict[str, object]:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}
    for word in INTERNALS:
        assert word not in str(error["message"]), error
    return error


def test_an_unreachable_upstream_is_a_502_that_tells_no_address(
    http: httpx.Client, service: ServiceProcess
) -> None:
    reply = http.post(
        "/responses", json={"model": "dead/m", "input": "hi"}, headers={"x-request-id": "req-dead-1"}
    )
    error = _error(reply, 502)
    assert error["message"] == "The model is unavailable: its upstream cannot be reached."
    logged = [line for line in service.log().splitlines() if "[req-dead-1]" in line]
    assert any("127.0.0.1:1" in line for line in logged), logged  # the operator gets the detail


def test_a_raw_upstream_500_body_is_logged_not_echoed(
    http: httpx.Client, service: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(status=500, error_body="Traceback (most recent call last): secret-db-host:5432"))
    reply = http.post("/responses", json={"model": "m", "input": "hi"}, headers={"x-request-id": "req-500-1"})
    error = _error(reply, 502)
    assert error["message"] == "The model's upstream failed (HTTP 500)."
    assert "secret-db-host" not in reply.text
    assert any("[req-500-1]" in line and "secret-db-host" in line for line in service.log().splitlines())


def test_an_upstream_400_about_the_request_is_passed_on_clipped(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    long = "This model's maximum context length is 4096 tokens. " + "x" * 5000
    upstream.enqueue(Script(status=400, error_body={"error": {"message": long}}))
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="m", input="hi")
    assert refused.value.code == "upstream_rejected_request"
    body = refused.value.body
    assert isinstance(body, dict)
    assert str(body["message"]).startswith("The model's upstream rejected the request: This model's maximum")
    assert len(str(body["message"])) < 600


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/health", "Invalid URL (GET /health)"),
        ("PUT", "/v1/responses", "Invalid URL (PUT /v1/responses)"),
        ("POST", "/v1/chat/nowhere", "Invalid URL (POST /v1/chat/nowhere)"),
    ],
)
def test_an_unknown_route_is_openais_invalid_url(
    service: ServiceProcess, method: str, path: str, message: str
) -> None:
    root = service.base_url.removesuffix("/v1")
    error = _error(httpx.request(method, root + path, json={}), 404)
    assert (error["message"], error["type"], error["code"]) == (message, "invalid_request_error", None)


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        (
            "/responses/resp_x/input_items?limit=abc",
            "limit",
            "Invalid 'limit': expected an integer, but got 'abc' instead.",
        ),
        (
            "/responses/resp_x?stream=maybe",
            "stream",
            "Invalid 'stream': expected a boolean (true or false), but got 'maybe' instead.",
        ),
        (
            "/responses/resp_x?stream=true&starting_after=%C3%A9",
            "starting_after",
            "Invalid 'starting_after': expected an integer.",
        ),
    ],
)
def test_a_query_parameter_of_the_wrong_type_is_named(
    service: ServiceProcess, query: str, param: str, message: str
) -> None:
    error = _error(httpx.get(service.base_url + query), 400)
    assert (error["param"], error["code"], error["message"]) == (param, "invalid_type", message)


def test_a_body_over_the_limit_says_the_limit(http: httpx.Client) -> None:
    error = _error(http.post("/responses", json={"model": "m", "input": "x" * (33 * 1024 * 1024)}), 413)
    assert error["code"] == "request_too_large"
    assert "limit of 33554432 bytes" in str(error["message"])


def test_huge_values_are_echoed_as_a_short_prefix(http: httpx.Client, channel: grpc.Channel) -> None:
    model = "m" * 5_000_000
    reply = http.post("/responses", json={"model": model, "input": "hi"})
    error = _error(reply, 404)
    assert error["code"] == "model_not_found" and len(reply.content) < 1_000
    assert error["message"] == f"The model '{'m' * 64}...' does not exist or you do not have access to it."
    with pytest.raises(grpc.RpcError) as refused:
        pb_grpc.ResponsesServiceStub(channel).Create(pb.CreateRequest(model=model, input=Input(text="hi")))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND  # not RESOURCE_EXHAUSTED by its metadata
    assert len(refused.value.details() or "") < 1_000
    reply = http.post("/responses", json={"model": "m", "input": "hi", "k" * 100_000: 1})
    error = _error(reply, 400)
    assert error["code"] == "unknown_parameter" and len(reply.content) < 1_000


@pytest.mark.parametrize(
    "method",
    [
        "/rejoinder.responses.v1.ResponsesService/Create",
        "/rejoinder.responses.v1.ResponsesService/StreamCreate",
        "/rejoinder.responses.v1.ConversationsService/GetConversation",
        "/grpc.health.v1.Health/Check",
    ],
)
def test_bytes_that_are_not_protobuf_are_invalid_argument(
    channel: grpc.Channel, service: ServiceProcess, method: str
) -> None:
    before = service.log().count("Traceback")
    streaming = "Stream" in method
    call = channel.unary_stream(method) if streaming else channel.unary_unary(method)
    with pytest.raises(grpc.RpcError) as refused:
        reply = call(b"\xff\xff\xff\xff\x0f\x01 not protobuf", timeout=10)
        if streaming:
            list(reply)  # type: ignore[call-overload]
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(refused.value.details()).startswith("The request is not a valid protobuf message")
    info, _ = _details(refused.value)
    assert info.reason == "MALFORMED_REQUEST"
    assert service.log().count("Traceback") == before


@pytest.mark.parametrize("body", [{"model": "m"}, {"model": "m", "input": []}])
def test_a_request_with_nothing_to_answer_is_our_400(
    http: httpx.Client, upstream: ScriptedUpstream, body: dict[str, object]
) -> None:
    error = _error(http.post("/responses", json=body), 400)
    assert error["param"] == "input"
    assert upstream.requests == []  # never reached the upstream


def test_a_request_with_nothing_to_answer_is_invalid_argument_over_grpc(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        pb_grpc.ResponsesServiceStub(channel).Create(pb.CreateRequest(model="m"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, _ = _details(refused.value)
    assert info.metadata["param"] == "input"


@pytest.mark.parametrize(("model", "tokens", "most"), [("m", 10**12, 1_048_576), ("capped", 8192, 4096)])
def test_max_output_tokens_beyond_the_model_is_refused(
    client: OpenAI, channel: grpc.Channel, upstream: ScriptedUpstream, model: str, tokens: int, most: int
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=model, input="hi", max_output_tokens=tokens)
    assert (refused.value.param, refused.value.code) == ("max_output_tokens", "integer_above_max_value")
    body = refused.value.body
    assert isinstance(body, dict) and f"Expected a value <= {most}, but got {tokens} instead." in str(
        body["message"]
    )
    with pytest.raises(grpc.RpcError) as grpc_refused:
        pb_grpc.ResponsesServiceStub(channel).Create(
            pb.CreateRequest(model=model, input=Input(text="hi"), max_output_tokens=tokens)
        )
    assert grpc_refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert upstream.requests == []
    assert client.responses.create(model="capped", input="hi", max_output_tokens=4096).status == "completed"


def test_bytes_the_rest_bridge_cannot_read_are_openais_400(
    channel: grpc.Channel, service: ServiceProcess
) -> None:
    """Envoy builds the bridge's messages, so what fails to parse is a path or query that is not UTF-8:
    the REST client gets OpenAI's 400 (the bridge answers in HttpBody, with the status as metadata)."""
    call = channel.unary_unary("/rejoinder.responses.v1.OpenAIHttpService/GetModel")
    body, reply = call.with_call(b"\x0a\x02\xc3\x28", timeout=10)  # field 1, a string that is not UTF-8
    assert dict(reply.initial_metadata())["x-http-status"] == "400"
    error = orjson.loads(HttpBody.FromString(body).data)["error"]
    assert (error["code"], error["message"]) == (
        "invalid_request",
        "Invalid URL: its path or query is not valid UTF-8.",
    )
    root = service.base_url.removesuffix("/v1")
    reply_rest = httpx.get(f"{root}/v1/responses/resp_%ED%A0%80")
    assert reply_rest.status_code == 400 and reply_rest.json()["error"]["code"] == "invalid_request"
