"""Shutdown drains; crashes leave nothing half-told.

SIGTERM: gRPC health says NOT_SERVING, new calls are refused (503 in OpenAI's shape), running responses
get the drain time to finish, and the rest end with an `error` event and `response.failed`, stored so
with what they made. SIGKILL: a restarted replica (same data directory, so the same identity) fails its
unfinished background runs at once, keeping their output, and every stored replay ends with its
terminal event; on PostgreSQL another replica does so after the lease.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import openai
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from openai import OpenAI

from tests.e2e.exactness import check_sse
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedUpstream

SLOW = [f"word{i} " for i in range(200)]  # 20 s at 0.1 s a word: still running when the drain ends


def _serve(data: Path, upstream: ScriptedUpstream, *extra: str) -> ServiceProcess:
    return ServiceProcess(data_dir=data, extra_args=["--upstream", upstream.base_url, *extra]).start()


def _sdk(service: ServiceProcess) -> OpenAI:
    return OpenAI(base_url=service.base_url, api_key="x", max_retries=0, timeout=60)


def _poll(until: Callable[[], Any], timeout_s: float = 10) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = until()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def _health(service: ServiceProcess) -> int:
    with grpc.insecure_channel(service.grpc_target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.RpcError as err:
            return -int(err.code().value[0])  # refused outright: the server no longer takes calls
        return int(reply.status)


def test_sigterm_drains_then_ends_what_still_runs_in_band(
    tmp_path: Path, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    data = tmp_path / "data"
    service = _serve(data, e2e_upstream, "--drain-s", "2")
    assert _health(service) == health_pb2.HealthCheckResponse.SERVING
    e2e_upstream.enqueue(Script(text=["short ", "answer"], delay_s=0.3), Script(text=SLOW, delay_s=0.1))
    events: dict[str, list[Any]] = {"short": [], "long": []}
    raised: list[openai.APIError] = []

    def read(name: str) -> None:
        try:
            with _sdk(service).responses.create(model="m", input=name, stream=True) as stream:
                events[name].extend(stream)
        except openai.APIError as err:  # what the SDK makes of an `error` event
            raised.append(err)

    readers = [threading.Thread(target=read, args=(name,)) for name in ("short", "long")]
    for count, reader in enumerate(readers, 1):
        reader.start()
        _poll(lambda count=count: len(e2e_upstream.requests) >= count or None)  # at the upstream
    assert service.proc is not None
    service.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # draining now
    assert _health(service) != health_pb2.HealthCheckResponse.SERVING
    refused = httpx.post(f"{service.base_url}/responses", json={"model": "m", "input": "late"}, timeout=10)
    assert refused.status_code == 503 and refused.headers["retry-after"]
    assert set(refused.json()["error"]) == {"message", "type", "param", "code"}
    for reader in readers:
        reader.join(timeout=30)
    assert service.proc.wait(timeout=30) == 0

    assert events["short"][-1].type == "response.completed"  # finished within the drain time
    long = events["long"]
    assert len(raised) == 1 and not isinstance(raised[0], openai.APIConnectionError)  # told, not cut
    assert raised[0].message.startswith("The server shut down before this response finished")
    made = "".join(e.delta for e in long if e.type == "response.output_text.delta")
    assert made and made != "".join(SLOW)
    response_id = long[0].response.id
    assert "ended 1 running response(s) as failed (server shutting down)" in service.log()

    again = _serve(data, e2e_upstream)  # the same data directory: the stored response
    try:
        stored = _sdk(again).responses.retrieve(response_id)
        assert stored.status == "failed" and stored.error is not None and "shut down" in stored.error.message
        assert stored.output[0].status == "incomplete"
        assert stored.output_text == made  # what it made so far is kept
    finally:
        assert again.stop() == 0, again.log()


def test_sigterm_ends_a_grpc_stream_in_band(tmp_path: Path, e2e_upstream: ScriptedUpstream) -> None:
    from rejoinder.responses.v1 import responses_service_pb2 as pb
    from rejoinder.responses.v1 import responses_service_pb2_grpc as pb_grpc
    from rejoinder.responses.v1.items_pb2 import Input

    e2e_upstream.reset()
    service = _serve(tmp_path / "data", e2e_upstream, "--drain-s", "1")
    e2e_upstream.enqueue(Script(text=SLOW, delay_s=0.1))
    with grpc.insecure_channel(service.grpc_target) as channel:
        stream = pb_grpc.ResponsesServiceStub(channel).StreamCreate(
            pb.StreamCreateRequest(params=pb.CreateRequest(model="m", input=Input(text="hi")))
        )
        kinds = []
        for reply in stream:
            kinds.append(reply.event.WhichOneof("event"))
            if kinds.count("output_text_delta") == 3:
                assert service.proc is not None
                service.proc.send_signal(signal.SIGTERM)
    assert kinds[-2:] == ["error", "response_failed"]  # and the call ended OK
    assert service.proc is not None and service.proc.wait(timeout=30) == 0


def _replayed(service: ServiceProcess, response_id: str) -> list[dict[str, Any]]:
    """The stored replay from the start, as raw SSE (the SDK raises at an `error` event)."""
    url = f"{service.base_url}/responses/{response_id}?stream=true&starting_after=0"
    return check_sse(httpx.get(url, timeout=30).content, first=1)


def test_a_restart_fails_its_own_unfinished_runs_at_once(
    tmp_path: Path, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    data = tmp_path / "data"
    crashing = _serve(data, e2e_upstream, "--background-lease-s", "60")  # no lease runs out in this test
    e2e_upstream.enqueue(Script(text=SLOW, delay_s=0.1))
    running = _sdk(crashing).responses.create(model="m", input="hi", background=True)
    _poll(lambda: _sdk(crashing).responses.retrieve(running.id).status == "in_progress" or None)
    time.sleep(1.0)  # a few words made (one every 0.1 s), and their events kept (flushed every 250 ms)
    assert crashing.proc is not None
    crashing.proc.kill()  # SIGKILL: nothing ran on the way out
    crashing.proc.wait()

    restarted = _serve(data, e2e_upstream, "--background-lease-s", "60")
    try:
        assert "ended 1 background response(s) left unfinished by a stopped server" in restarted.log()
        sdk = _sdk(restarted)
        stored = sdk.responses.retrieve(running.id)
        assert stored.status == "failed" and stored.error is not None
        assert stored.output and stored.output[0].status == "incomplete"
        assert stored.output_text.startswith("word0 word1 word2 ")  # what was made and kept
        replay = _replayed(restarted, running.id)
        assert [e["type"] for e in replay[-2:]] == ["error", "response.failed"]
        assert [e["sequence_number"] for e in replay] == list(range(1, 1 + len(replay)))
        told = replay[-1]["response"]["output"][0]
        assert (told["status"], told["content"][0]["text"]) == ("incomplete", stored.output_text)
    finally:
        assert restarted.stop() == 0, restarted.log()


def test_a_replica_sharing_postgresql_ends_a_dead_ones_run_as_it_would_have(
    tmp_path: Path, postgres_dsn: str, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    args = ("--store", postgres_dsn, "--background-lease-s", "1")
    a = _serve(tmp_path / "a", e2e_upstream, *args)
    b = _serve(tmp_path / "b", e2e_upstream, *args)
    try:
        e2e_upstream.enqueue(Script(text=SLOW, delay_s=0.1))
        running = _sdk(a).responses.create(model="m", input="hi", background=True)
        _poll(lambda: _sdk(b).responses.retrieve(running.id).status == "in_progress" or None)
        time.sleep(1.0)  # a few words made, and their events kept
        assert a.proc is not None
        a.proc.kill()
        a.proc.wait()
        ended = _poll(lambda: (r := _sdk(b).responses.retrieve(running.id)).status != "in_progress" and r)
        assert ended.status == "failed" and ended.output[0].status == "incomplete"
        assert ended.output_text.startswith("word0 word1 word2 ")
        replay = _replayed(b, running.id)
        assert [e["type"] for e in replay[-2:]] == ["error", "response.failed"]
    finally:
        a.stop()
        assert b.stop() == 0, b.log()
        e2e_upstream.reset()


def test_a_finished_background_replay_ends_with_its_terminal_event(
    service: ServiceProcess, client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=["a ", "b"]))
    made = client.responses.create(model="m", input="hi", background=True)
    _poll(lambda: client.responses.retrieve(made.id).status == "completed" or None)
    assert _replayed(service, made.id)[-1]["type"] == "response.completed"
    foreground = client.responses.create(model="m", input="hi").id
    with pytest.raises(openai.BadRequestError):  # a foreground response has no replay
        list(client.responses.retrieve(foreground, stream=True, starting_after=0))
