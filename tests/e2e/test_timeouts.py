"""Upstream timeouts chosen in configuration, end to end: `rejoinder serve` with Envoy, a model whose
upstream has `first_token_timeout_s = 1` and `idle_timeout_s = 1`, driven by the `openai` SDK and typed
gRPC. An upstream that never answers is a 504 `upstream_timeout` (DEADLINE_EXCEEDED) before the first
event; one that stalls mid-answer fails the response in band, and the stored response is `failed`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import grpc
import httpx
import openai
import pytest
from google.rpc import error_details_pb2, status_pb2
from openai import OpenAI

from rejoinder_client.rejoinder.responses.v1 import (
    CreateRequest,
    GetRequest,
    Input,
    ResponsesServiceStub,
    StreamCreateRequest,
)
from tests.e2e.exactness import CapturingTransport, check, check_sse
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedUpstream

ONE_SECOND = re.compile(r"\b1 ?s\b")  # the message names the bound: "1 s" (or "1s")
NEVER = Script(text="never", stall_before_head=True)
STALLS = Script(text=["Hel", "lo", " there", " friend"], stall_after_chunks=3)  # role, "Hel", "lo" at once


@pytest.fixture(scope="module")
def slow_service(
    tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """`rejoinder serve` whose model "m" has 1 s first-token and idle timeouts."""
    data = tmp_path_factory.mktemp("timeouts")
    config = data / "rejoinder.toml"
    config.write_text(
        f'[providers.slow]\nbase_url = "{e2e_upstream.base_url}"\n'
        "connect_timeout_s = 2\nfirst_token_timeout_s = 1\nidle_timeout_s = 1\n\n"
        '[models."m"]\nprovider = "slow"\nmodel = "scripted-model"\n'
    )
    proc = ServiceProcess(data_dir=data, extra_args=["--config", str(config)]).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def capture() -> Iterator[CapturingTransport]:
    capturing = CapturingTransport()
    yield capturing
    for one in capturing.captures:
        check(one)


@pytest.fixture
def client(
    slow_service: ServiceProcess, capture: CapturingTransport, upstream: ScriptedUpstream
) -> Iterator[OpenAI]:
    http = httpx.Client(transport=capture, timeout=30)
    yield OpenAI(base_url=slow_service.base_url, api_key="test-key", http_client=http, max_retries=0)
    http.close()


@pytest.fixture
def http(slow_service: ServiceProcess, capture: CapturingTransport) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=slow_service.base_url, transport=capture, timeout=30) as c:
        yield c


@pytest.fixture(params=["direct", "via-envoy"])
def stub(
    request: pytest.FixtureRequest, slow_service: ServiceProcess, upstream: ScriptedUpstream
) -> Iterator[ResponsesServiceStub]:
    target = slow_service.grpc_target if request.param == "direct" else slow_service.envoy_target
    with grpc.insecure_channel(target) as channel:
        yield ResponsesServiceStub(channel)


def assert_timeout_error(err: openai.APIStatusError, started: float) -> None:
    assert isinstance(err, openai.InternalServerError)
    assert err.status_code == 504
    assert err.code == "upstream_timeout"
    assert ONE_SECOND.search(err.message), err.message
    assert 1.0 <= time.monotonic() - started < 3.0


def error_info(err: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    trailers = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR))
    return info


# -- REST through Envoy, with the openai SDK ----------------------------------------------------------


def test_an_upstream_that_never_answers_is_a_504(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(NEVER)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as err:
        client.responses.create(model="m", input="hi")
    assert_timeout_error(err.value, started)
    assert upstream.received[-1].wait_ended(3.0) == "client_gone"


def test_a_stream_without_a_first_token_is_a_504_before_any_event(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text="never", stall_after_chunks=1))  # the head and a role chunk, no delta
    started = time.monotonic()
    events: list[str] = []
    with pytest.raises(openai.APIStatusError) as err:
        events.extend(e.type for e in client.responses.create(model="m", input="hi", stream=True))
    assert_timeout_error(err.value, started)
    assert events == []


def test_a_stream_that_stalls_fails_in_band_and_is_stored_failed(
    client: OpenAI, http: httpx.Client, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(STALLS)
    deltas: list[str] = []
    started = time.monotonic()
    with pytest.raises(openai.APIError) as err:
        for event in client.responses.create(model="m", input="hi", stream=True):
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
    assert deltas == ["Hel", "lo"]
    assert 1.0 <= time.monotonic() - started < 3.0  # the upstream stalls at once, after two deltas
    assert ONE_SECOND.search(err.value.message), err.value.message

    upstream.enqueue(STALLS)
    events = check_sse(http.post("/responses", json={"model": "m", "input": "hi", "stream": True}).content)
    kinds = [e["type"] for e in events]
    assert kinds[-2:] == ["error", "response.failed"]
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == ["Hel", "lo"]
    assert ONE_SECOND.search(str(events[-2]["message"])), events[-2]
    failed = events[-1]["response"]
    assert isinstance(failed, dict) and failed["status"] == "failed"
    stored = client.responses.retrieve(str(failed["id"]))
    assert stored.status == "failed"
    assert stored.error is not None and ONE_SECOND.search(stored.error.message)


# -- typed gRPC, direct and through Envoy -------------------------------------------------------------


def test_grpc_create_on_an_upstream_that_never_answers_is_deadline_exceeded(
    stub: ResponsesServiceStub, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(NEVER)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as err:
        stub.create(CreateRequest(model="m", input=Input(text="hi")))
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    assert 1.0 <= time.monotonic() - started < 3.0
    assert ONE_SECOND.search(err.value.details()), err.value.details()  # type: ignore[attr-defined]
    assert error_info(err.value).metadata["code"] == "upstream_timeout"


def test_grpc_stream_without_a_first_token_is_deadline_exceeded_before_any_event(
    stub: ResponsesServiceStub, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(NEVER)
    started = time.monotonic()
    events = []
    with pytest.raises(grpc.RpcError) as err:
        events.extend(
            stub.stream_create(StreamCreateRequest(params=CreateRequest(model="m", input=Input(text="hi"))))
        )
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    assert 1.0 <= time.monotonic() - started < 3.0
    assert events == []
    assert error_info(err.value).metadata["code"] == "upstream_timeout"


def test_grpc_stream_that_stalls_fails_in_band(
    stub: ResponsesServiceStub, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(STALLS)
    deltas: list[str] = []
    events = []
    started = time.monotonic()
    for reply in stub.stream_create(
        StreamCreateRequest(params=CreateRequest(model="m", input=Input(text="hi")))
    ):
        event = reply.event
        assert event is not None
        events.append(event)
        if event.output_text_delta is not None:
            deltas.append(event.output_text_delta.delta)
    assert deltas == ["Hel", "lo"]
    assert 1.0 <= time.monotonic() - started < 3.0  # the upstream stalls at once, after two deltas
    error, last = events[-2].error, events[-1].response_failed
    assert error is not None and ONE_SECOND.search(error.message), error
    assert last is not None and last.response is not None and last.response.status == "failed"
    stored = stub.get(GetRequest(response_id=last.response.id)).response
    assert stored is not None and stored.status == "failed"
