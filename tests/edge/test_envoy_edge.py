"""The REST/SSE edge end to end: real Envoy (EnvoyProcess) in front of a real grpc.aio server.

The servicer here is a test double of OpenAIHttpService that echoes what it received; the real one
lives in rejoinder.api. One Envoy and one gRPC server serve the whole module (one event loop).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from google.api import httpbody_pb2
from google.protobuf import json_format
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from rejoinder.edge.envoy_config import EnvoySettings
from rejoinder.edge.envoy_process import EnvoyProcess
from rejoinder.edge.ports import free_port
from rejoinder.responses.v1 import openai_http_pb2_grpc

pytestmark = pytest.mark.asyncio(loop_scope="module")

DESCRIPTOR = Path(str(resources.files("rejoinder.edge") / "rejoinder.binpb"))
BODY_LIMIT = 64 * 1024
Context = grpc.aio.ServicerContext[Any, Any]


def _json(payload: dict[str, Any]) -> httpbody_pb2.HttpBody:
    return httpbody_pb2.HttpBody(content_type="application/json", data=json.dumps(payload).encode())


def _sse(event: str, payload: dict[str, Any]) -> httpbody_pb2.HttpBody:
    frame = f"event: {event}\ndata: {json.dumps(payload)}\n\n"
    return httpbody_pb2.HttpBody(content_type="text/event-stream", data=frame.encode())


def _response(status: str) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": "m",
        "output": [],
    }


@dataclass
class Call:
    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class EchoHttpServicer(openai_http_pb2_grpc.OpenAIHttpServiceServicer):
    """Records every call; CreateResponse behaves as the request body's "mode" (or "stream") asks."""

    calls: list[Call] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def _record(self, method: str, request: Any, context: Context) -> None:
        metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        self.calls.append(Call(method, request, metadata))

    def last(self, method: str) -> Call:
        return next(call for call in reversed(self.calls) if call.method == method)

    async def CreateResponse(
        self, request: httpbody_pb2.HttpBody, context: Context
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        self._record("CreateResponse", request, context)
        body = json.loads(request.data)
        if body.get("stream"):
            yield _sse("response.created", {"type": "response.created", "response": _response("in_progress")})
            yield _sse(
                "response.completed", {"type": "response.completed", "response": _response("completed")}
            )
            yield httpbody_pb2.HttpBody(content_type="text/event-stream", data=b"data: [DONE]\n\n")
            return
        async for chunk in self._create(body.get("mode"), context):
            yield chunk

    async def _create(self, mode: str | None, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        if mode == "error":
            await context.send_initial_metadata((("x-http-status", "404"), ("retry-after", "5")))
            yield _json({"error": {"message": "No such thing", "type": "invalid_request_error"}})
        elif mode == "abort":
            await context.abort(grpc.StatusCode.NOT_FOUND, "gone")
        elif mode == "sse":
            self.release = asyncio.Event()
            yield _sse("e", {"n": 0})
            released = await _within(self.release.wait(), 5.0)
            yield _sse("e", {"n": 1, "released": released})
            yield _sse("e", {"n": 2})
        elif mode == "slow":
            for n in range(3):
                if n:
                    await asyncio.sleep(1.0)
                yield _sse("e", {"n": n})
        else:
            yield _json({"object": "response", "mode": mode})

    async def GetResponse(self, request: Any, context: Context) -> AsyncIterator[httpbody_pb2.HttpBody]:
        self._record("GetResponse", request, context)
        yield _json({"id": request.response_id})

    async def DeleteResponse(self, request: Any, context: Context) -> httpbody_pb2.HttpBody:
        self._record("DeleteResponse", request, context)
        return _json({"id": request.response_id, "deleted": True})

    async def CancelResponse(self, request: Any, context: Context) -> httpbody_pb2.HttpBody:
        self._record("CancelResponse", request, context)
        return _json({"id": request.response_id, "status": "cancelled"})

    async def ListInputItems(self, request: Any, context: Context) -> httpbody_pb2.HttpBody:
        self._record("ListInputItems", request, context)
        return _json({"object": "list", "data": []})

    async def ListModels(self, request: Any, context: Context) -> httpbody_pb2.HttpBody:
        self._record("ListModels", request, context)
        return _json({"object": "list", "data": []})

    async def GetModel(self, request: Any, context: Context) -> httpbody_pb2.HttpBody:
        self._record("GetModel", request, context)
        return _json({"id": request.model, "object": "model"})


async def _within(waiting: Any, seconds: float) -> bool:
    try:
        await asyncio.wait_for(waiting, seconds)
    except TimeoutError:
        return False
    return True


async def start_grpc_server(servicer: EchoHttpServicer | None) -> tuple[grpc.aio.Server, int]:
    """A grpc.aio server on a free 127.0.0.1 port with the health service (and the servicer)."""
    server = grpc.aio.server()
    if servicer is not None:
        openai_http_pb2_grpc.add_OpenAIHttpServiceServicer_to_server(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = free_port("127.0.0.1")
    assert server.add_insecure_port(f"127.0.0.1:{port}") == port
    await server.start()
    return server, port


@dataclass
class Edge:
    servicer: EchoHttpServicer
    envoy: EnvoyProcess
    port: int
    http: httpx.AsyncClient

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def edge(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Edge]:
    servicer = EchoHttpServicer()
    server, grpc_port = await start_grpc_server(servicer)
    port = free_port("127.0.0.1")
    settings = EnvoySettings(
        http_host="127.0.0.1",
        http_port=port,
        grpc_upstreams=(("127.0.0.1", grpc_port),),
        descriptor_path=DESCRIPTOR,
        admin_port=free_port("127.0.0.1"),
        max_request_body_bytes=BODY_LIMIT,
    )
    try:
        async with (
            EnvoyProcess(settings, tmp_path_factory.mktemp("envoy")) as envoy,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as http,
        ):
            yield Edge(servicer, envoy, port, http)
    finally:
        await server.stop(None)


def _assert_no_grpc_headers(response: httpx.Response) -> None:
    leaked = [name for name in response.headers if name.startswith("grpc-") or name == "x-http-status"]
    assert leaked == []


def _assert_openai_error(
    response: httpx.Response, status: int, error_type: str, code: str | None = None
) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == error_type and error["param"] is None and error["code"] == code
    assert isinstance(error["message"], str) and error["message"]


async def test_json_create_reaches_servicer_with_exact_body(edge: Edge) -> None:
    raw = b'{"model": "m",  "input":"hi" , "mode": "json"}'
    response = await edge.http.post(
        "/v1/responses", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"object": "response", "mode": "json"}
    call = edge.servicer.last("CreateResponse")
    assert call.request.data == raw
    assert call.request.content_type == "application/json"
    assert call.metadata["x-envoy-original-path"] == "/v1/responses"
    _assert_no_grpc_headers(response)


async def test_sse_arrives_incrementally(edge: Edge) -> None:
    async with edge.http.stream("POST", "/v1/responses", json={"mode": "sse"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["x-request-id"]
        chunks = response.aiter_text()
        first = await asyncio.wait_for(anext(chunks), 5.0)
        assert first == 'event: e\ndata: {"n": 0}\n\n'
        assert not edge.servicer.release.is_set()  # the servicer holds the rest back until now
        edge.servicer.release.set()
        rest = "".join([chunk async for chunk in chunks])
    assert rest == 'event: e\ndata: {"n": 1, "released": true}\n\nevent: e\ndata: {"n": 2}\n\n'


async def test_slow_stream_is_not_cut_and_flows_chunk_by_chunk(edge: Edge) -> None:
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[float, str]] = []
    async with edge.http.stream("POST", "/v1/responses", json={"mode": "slow"}) as response:
        assert response.headers["content-type"] == "text/event-stream"
        async for chunk in response.aiter_text():
            arrivals.append((loop.time(), chunk))
    assert "".join(text for _, text in arrivals).count("event: e\n") == 3
    assert arrivals[-1][0] - arrivals[0][0] > 1.5


async def test_openai_sdk_streams_events(edge: Edge) -> None:
    http_client = DefaultAsyncHttpxClient(trust_env=False)
    async with AsyncOpenAI(
        base_url=f"{edge.base_url}/v1", api_key="x", http_client=http_client, max_retries=0
    ) as client:
        stream = await client.responses.create(model="m", input="hi", stream=True)
        events = [event async for event in stream]
    assert [event.type for event in events] == ["response.created", "response.completed"]
    assert edge.servicer.last("CreateResponse").metadata["authorization"] == "Bearer x"


async def test_error_status_and_headers_come_from_initial_metadata(edge: Edge) -> None:
    response = await edge.http.post("/v1/responses", json={"mode": "error"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"error": {"message": "No such thing", "type": "invalid_request_error"}}
    assert response.headers["x-request-id"]
    _assert_no_grpc_headers(response)


async def test_grpc_status_is_a_safety_net(edge: Edge) -> None:
    response = await edge.http.post("/v1/responses", json={"mode": "abort"})
    assert response.status_code == 404
    _assert_no_grpc_headers(response)
    again = await edge.http.post("/v1/responses", json={"mode": "json"})
    assert again.status_code == 200


async def test_get_keeps_the_raw_query_in_metadata(edge: Edge) -> None:
    path = "/v1/responses/resp_42?include[]=a&include[]=b&stream=false&starting_after=3"
    response = await edge.http.get(path, headers={"x-envoy-original-path": "/spoofed"})
    assert response.status_code == 200
    assert response.json() == {"id": "resp_42"}
    call = edge.servicer.last("GetResponse")
    assert call.request.response_id == "resp_42"
    assert call.request.starting_after == 3
    assert call.metadata["x-envoy-original-path"] == path  # Envoy's, never the client's
    assert call.metadata["x-envoy-original-method"] == "GET"


@pytest.mark.parametrize(
    ("method", "path", "rpc", "fields"),
    [
        ("DELETE", "/v1/responses/resp_1", "DeleteResponse", {"response_id": "resp_1"}),
        ("POST", "/v1/responses/resp_2/cancel", "CancelResponse", {"response_id": "resp_2"}),
        (
            "GET",
            "/v1/responses/resp_3/input_items?limit=5&order=asc&after=msg_1",
            "ListInputItems",
            {"response_id": "resp_3", "limit": 5, "order": "asc", "after": "msg_1"},
        ),
        ("GET", "/v1/models", "ListModels", {}),
        ("GET", "/v1/models/org/model-1", "GetModel", {"model": "org/model-1"}),
    ],
)
async def test_routes_reach_their_methods(
    edge: Edge, method: str, path: str, rpc: str, fields: dict[str, Any]
) -> None:
    response = await edge.http.request(method, path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    request = edge.servicer.last(rpc).request
    assert json_format.MessageToDict(request, preserving_proto_field_name=True) == fields


async def test_unknown_path_is_an_openai_404(edge: Edge) -> None:
    response = await edge.http.get("/v1/nothing/here")
    _assert_openai_error(response, 404, "invalid_request_error")
    assert response.headers["x-request-id"]


async def test_body_over_the_limit_is_an_openai_413(edge: Edge) -> None:
    big = json.dumps({"model": "m", "input": "x" * (BODY_LIMIT + 1024)})
    response = await edge.http.post(
        "/v1/responses", content=big, headers={"content-type": "application/json"}
    )
    _assert_openai_error(response, 413, "invalid_request_error", "request_too_large")


async def test_request_id_is_echoed_or_generated(edge: Edge) -> None:
    sent = await edge.http.post("/v1/responses", json={"mode": "json"}, headers={"x-request-id": "rid-1"})
    assert sent.headers["x-request-id"] == "rid-1"
    assert edge.servicer.last("CreateResponse").metadata["x-request-id"] == "rid-1"
    fresh = await edge.http.post("/v1/responses", json={"mode": "json"})
    generated = fresh.headers["x-request-id"]
    assert generated and generated != "rid-1"
    assert edge.servicer.last("CreateResponse").metadata["x-request-id"] == generated


async def test_native_grpc_passes_through_the_same_listener(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        # A trailers-only error keeps its grpc-status through the Lua filter.
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        unknown = channel.unary_unary("/rejoinder.responses.v1.ResponsesService/Get", None, None)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await unknown(b"", timeout=5)
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
