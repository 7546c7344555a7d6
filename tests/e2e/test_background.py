"""Background mode through Envoy with the `openai` SDK, through gRPC, and across a restart."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import openai
import pytest
from openai import OpenAI
from openai.types.responses import Response

from rejoinder_client.rejoinder.responses.v1 import (
    CreateRequest,
    Input,
    ResponsesServiceStub,
    StreamCreateRequest,
    StreamGetRequest,
)
from tests.e2e.service_process import ServiceProcess
from tests.scripted_upstream import Script, ScriptedUpstream

WORDS = [f"w{i} " for i in range(12)]


def _poll(
    client: OpenAI, response_id: str, done: Callable[[Response], bool], timeout_s: float = 15
) -> list[Response]:
    """Every state seen by GET until `done`."""
    seen: list[Response] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen.append(client.responses.retrieve(response_id))
        if done(seen[-1]):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{response_id}: still {seen[-1].status} after {timeout_s} s")


def test_create_returns_queued_then_polling_sees_it_run_and_finish(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=WORDS, first_byte_delay_s=0.4))
    created = client.responses.create(model="m", input="hi", background=True)
    assert (created.status, created.background, created.output) == ("queued", True, [])
    seen = _poll(client, created.id, lambda r: r.status == "completed")
    assert "in_progress" in [r.status for r in seen]
    assert seen[-1].output_text == "".join(WORDS) and seen[-1].background
    assert seen[-1].usage is not None and seen[-1].usage.output_tokens > 0
    items = client.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]


def test_a_stream_left_early_resumes_from_where_it_was_left(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=WORDS, delay_s=0.03))
    first_part = []
    with client.responses.create(model="m", input="hi", background=True, stream=True) as stream:
        for event in stream:
            first_part.append(event)
            if event.type == "response.output_text.delta":
                break  # the client goes away after the first delta
    assert [e.type for e in first_part[:3]] == ["response.created", "response.queued", "response.in_progress"]
    response_id = first_part[0].response.id  # type: ignore[union-attr]
    last_seen = first_part[-1].sequence_number
    resumed = list(client.responses.retrieve(response_id, stream=True, starting_after=last_seen))
    numbers = [e.sequence_number for e in resumed]
    assert numbers == list(range(last_seen + 1, last_seen + 1 + len(resumed)))
    assert resumed[-1].type == "response.completed"
    deltas = [e.delta for e in first_part + resumed if e.type == "response.output_text.delta"]  # type: ignore[union-attr]
    assert "".join(deltas) == "".join(WORDS)
    replay = list(client.responses.retrieve(response_id, stream=True))  # after the end: the kept stream
    assert [e.sequence_number for e in replay] == list(range(len(replay)))
    assert [e.type for e in replay[: len(first_part)]] == [e.type for e in first_part]
    tail = list(client.responses.retrieve(response_id, stream=True, starting_after=0))
    assert [e.sequence_number for e in tail] == list(range(1, len(replay)))


def test_cancel_stops_a_running_response_and_the_upstream_call(
    client: OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.enqueue(Script(text=[f"slow{i} " for i in range(100)], delay_s=0.1))
    with client.responses.create(model="m", input="hi", background=True, stream=True) as stream:
        opening = next(iter(stream))
        assert opening.type == "response.created"
        created = opening.response  # the client leaves; the run goes on
    _poll(client, created.id, lambda r: r.status == "in_progress")
    cancelled = client.responses.cancel(created.id)
    assert (cancelled.id, cancelled.status, cancelled.background) == (created.id, "cancelled", True)
    assert upstream.received[-1].wait_ended() == "client_gone"
    assert client.responses.retrieve(created.id).status == "cancelled"
    assert client.responses.cancel(created.id).status == "cancelled"  # again: unchanged, not an error


def test_bad_background_requests_get_openai_errors(client: OpenAI, upstream: ScriptedUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as no_store:
        client.responses.create(model="m", input="hi", background=True, store=False)
    assert no_store.value.body["param"] == "background"  # type: ignore[index]
    upstream.enqueue(Script(text="done"))
    foreground = client.responses.create(model="m", input="hi")
    with pytest.raises(openai.ConflictError):
        client.responses.cancel(foreground.id)
    with pytest.raises(openai.BadRequestError) as not_streamable:
        list(client.responses.retrieve(foreground.id, stream=True))
    assert not_streamable.value.code == "response_not_streamable"
    with pytest.raises(openai.NotFoundError):
        list(client.responses.retrieve("resp_missing", stream=True))
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_missing")


def test_grpc_stream_get_replays_a_background_stream(
    channel: grpc.Channel, upstream: ScriptedUpstream
) -> None:
    stub = ResponsesServiceStub(channel)
    upstream.enqueue(Script(text=["a", "b", "c"]))
    params = CreateRequest(model="m", input=Input(text="hi"), background=True)
    streamed = [r.event for r in stub.stream_create(StreamCreateRequest(params=params))]
    assert streamed[0] is not None and streamed[0].response_created is not None
    created = streamed[0].response_created.response
    assert created is not None and created.status == "queued"
    replayed = [r.event for r in stub.stream_get(StreamGetRequest(response_id=created.id))]
    assert replayed == streamed
    tail = [r.event for r in stub.stream_get(StreamGetRequest(response_id=created.id, starting_after=0))]
    assert tail == streamed[1:]
    with pytest.raises(grpc.RpcError) as missing:
        list(stub.stream_get(StreamGetRequest(response_id="resp_missing")))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_a_run_cut_by_a_stop_or_a_crash_is_failed_not_left_running(
    how: str, tmp_path: Path, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    e2e_upstream.enqueue(Script(text="never sent", first_byte_delay_s=30))
    args = ["--upstream", e2e_upstream.base_url, "--background-lease-s", "1"]
    proc = ServiceProcess(data_dir=tmp_path, extra_args=args).start()
    client = OpenAI(base_url=proc.base_url, api_key="x", max_retries=0)
    try:
        created = client.responses.create(model="m", input="hi", background=True)
        _poll(client, created.id, lambda r: r.status == "in_progress")
    finally:
        if how == "sigkill":
            assert proc.proc is not None
            proc.proc.kill()
            proc.proc.wait()
        else:
            assert proc.stop() == 0, proc.log()
    restarted = ServiceProcess(data_dir=tmp_path, extra_args=args).start()
    try:
        after = OpenAI(base_url=restarted.base_url, api_key="x", max_retries=0)
        seen = _poll(after, created.id, lambda r: r.status != "in_progress", timeout_s=10)
        assert seen[-1].status == "failed" and seen[-1].error is not None
        expected = "shut down" if how == "sigterm" else "stopped before it finished"
        assert expected in seen[-1].error.message
    finally:
        assert restarted.stop() == 0, restarted.log()
    e2e_upstream.reset()


def test_replicas_sharing_postgresql_serve_each_others_background_runs(
    tmp_path: Path, postgres_dsn: str, e2e_upstream: ScriptedUpstream
) -> None:
    e2e_upstream.reset()
    args = ["--upstream", e2e_upstream.base_url, "--store", postgres_dsn, "--background-lease-s", "1"]
    a = ServiceProcess(data_dir=tmp_path / "a", extra_args=args).start()
    b = ServiceProcess(data_dir=tmp_path / "b", extra_args=args).start()
    try:
        on_a = OpenAI(base_url=a.base_url, api_key="x", max_retries=0)
        on_b = OpenAI(base_url=b.base_url, api_key="x", max_retries=0)
        assert "responses stored in PostgreSQL 127.0.0.1:" in a.log()

        # A stream started on A, left, and read to its end on B.
        e2e_upstream.enqueue(Script(text=WORDS, delay_s=0.03))
        with on_a.responses.create(model="m", input="hi", background=True, stream=True) as stream:
            opening = next(iter(stream))
        assert opening.type == "response.created"
        response_id = opening.response.id
        resumed = list(on_b.responses.retrieve(response_id, stream=True, starting_after=0))
        assert [e.sequence_number for e in resumed] == list(range(1, 1 + len(resumed)))
        assert resumed[-1].type == "response.completed"
        deltas = [e.delta for e in resumed if e.type == "response.output_text.delta"]  # type: ignore[union-attr]
        assert "".join(deltas) == "".join(WORDS)
        assert on_b.responses.retrieve(response_id).output_text == "".join(WORDS)

        # A run on A cancelled through B.
        e2e_upstream.enqueue(Script(text=[f"slow{i} " for i in range(100)], delay_s=0.1))
        with on_a.responses.create(model="m", input="hi", background=True, stream=True) as stream:
            running = next(iter(stream)).response  # type: ignore[union-attr]
        _poll(on_b, running.id, lambda r: r.status == "in_progress")
        assert on_b.responses.cancel(running.id).status == "cancelled"
        assert e2e_upstream.received[-1].wait_ended() == "client_gone"  # A stopped its upstream call
        assert on_a.responses.retrieve(running.id).status == "cancelled"

        # A crashes with a run in progress: B fails it once A's lease runs out.
        e2e_upstream.enqueue(Script(text="never sent", first_byte_delay_s=30))
        orphan = on_a.responses.create(model="m", input="hi", background=True)
        _poll(on_b, orphan.id, lambda r: r.status == "in_progress")
        assert a.proc is not None
        a.proc.kill()
        a.proc.wait()
        seen = _poll(on_b, orphan.id, lambda r: r.status != "in_progress", timeout_s=10)
        assert seen[-1].status == "failed" and seen[-1].error is not None
    finally:
        a.stop()
        assert b.stop() == 0, b.log()
        e2e_upstream.reset()
