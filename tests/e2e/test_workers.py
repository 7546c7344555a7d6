"""`rejoinder serve --workers 2`, on SQLite and on PostgreSQL: the key flows hold whichever worker takes a
call. Calls meant for a given worker go to its own gRPC port (announced at start); REST goes through the
one Envoy, which balances both."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from openai import OpenAI
from openai.types.responses import FunctionToolParam, Response

from rejoinder.observe.batches import FLUSH_S
from rejoinder.providers.local import default_model_path
from rejoinder_client.rejoinder.responses.v1 import (
    CancelRequest,
    CreateRequest,
    DeleteRequest,
    GetRequest,
    Input,
    ResponsesServiceStub,
    StreamCreateRequest,
    StreamGetRequest,
)
from tests.e2e.prometheus import Moved, Sample, scrape
from tests.e2e.service_process import ServiceProcess
from tests.postgres_server import create_database, drop_database
from tests.scripted_upstream import Script, ScriptedUpstream

WORDS = [f"w{i} " for i in range(12)]
LOCAL_MODEL = "local/smollm2-135m"
WEATHER: FunctionToolParam = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}
LEASE_S = 10


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, e2e_upstream: ScriptedUpstream
) -> Iterator[ServiceProcess]:
    """Two workers behind one Envoy, on a SQLite file or a PostgreSQL database of their own."""
    e2e_upstream.reset()
    # A lease long enough that only a restart can fail a dead worker's run within a few seconds.
    args = ["--upstream", e2e_upstream.base_url, "--background-lease-s", str(LEASE_S)]
    dsn = None
    if request.param == "postgres":
        admin = request.getfixturevalue("postgres_admin_dsn")
        dsn = asyncio.run(create_database(admin))
        args += ["--store", dsn]
    service = ServiceProcess(
        data_dir=tmp_path_factory.mktemp(f"workers-{request.param}"), extra_args=args, workers=2
    )
    service.start()
    try:
        yield service
    finally:
        code = service.stop()
        e2e_upstream.reset()
        if dsn is not None:
            asyncio.run(drop_database(request.getfixturevalue("postgres_admin_dsn"), dsn))
    assert code == 0, service.log()


@pytest.fixture
def upstream(e2e_upstream: ScriptedUpstream) -> Iterator[ScriptedUpstream]:
    e2e_upstream.reset()
    yield e2e_upstream
    e2e_upstream.reset()


def _client(service: ServiceProcess) -> OpenAI:
    return OpenAI(base_url=service.base_url, api_key="x", max_retries=0)


def _stubs(service: ServiceProcess) -> Iterator[ResponsesServiceStub]:
    """A stub on each worker's own port, in worker order."""
    for target in service.workers_announced()[1]:
        yield ResponsesServiceStub(grpc.insecure_channel(target))


def _poll(
    client: OpenAI, response_id: str, done: Callable[[Response], bool], timeout_s: float = 15
) -> Response:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = client.responses.retrieve(response_id)
        if done(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def _moved_once(url: str, before: dict[Sample, float], done: Callable[[Moved], bool]) -> Moved:
    """What moved since `before`, once `done` says it all has: a worker counts its calls in batches, at most
    `FLUSH_S` after they end, and the supervisor's scrape reads what the workers counted."""
    deadline = time.monotonic() + 10 * FLUSH_S
    while not done(moved := Moved(before, scrape(url))) and time.monotonic() < deadline:
        time.sleep(FLUSH_S / 4)
    return moved


def _per_worker_requests(service: ServiceProcess) -> dict[str, int]:
    """Envoy's count of requests sent to each worker (its admin `/clusters`)."""
    admin = re.search(r"Envoy stats on (http://127\.0\.0\.1:\d+)/", service.log())
    assert admin is not None
    text = httpx.get(f"{admin.group(1)}/clusters").text
    return {
        m.group(1): int(m.group(2)) for m in re.finditer(r"rejoinder_grpc::([\d.:]+)::rq_total::(\d+)", text)
    }


def test_envoy_balances_rest_over_both_workers_and_metrics_sum_them(
    workers: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    client = _client(workers)
    before = scrape(workers.metrics_url)
    sent_before = _per_worker_requests(workers)
    for _ in range(24):
        upstream.enqueue(Script(text="hello there"))
        assert client.responses.create(model="m", input="hi").output_text == "hello there"
    sent = _per_worker_requests(workers)
    calls = {"surface": "rest", "route": "CreateResponse", "status": "200", "model": "m"}
    moved = _moved_once(workers.metrics_url, before, lambda m: m("rejoinder_requests_total", **calls) >= 24)

    per_worker = {host: sent[host] - sent_before.get(host, 0) for host in sent}
    assert sorted(per_worker) == sorted(workers.workers_announced()[1])
    assert all(n > 0 for n in per_worker.values()), per_worker  # both took some (and health checks)
    assert moved("rejoinder_requests_total", **calls) == 24  # the two workers' counts, summed
    assert moved.summed("rejoinder_tokens_total", type="output") == 24 * 2


def test_a_stream_through_envoy(workers: ServiceProcess, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text=WORDS, delay_s=0.005))
    events = list(_client(workers).responses.create(model="m", input="hi", stream=True))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]  # type: ignore[union-attr]
    assert "".join(deltas) == "".join(WORDS) and events[-1].type == "response.completed"


def test_the_public_grpc_port_is_served_by_the_workers(
    workers: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    for _ in range(4):  # a connection each: the kernel hands each to one of the workers
        with grpc.insecure_channel(workers.grpc_target) as channel:
            upstream.enqueue(Script(text="direct"))
            reply = (
                ResponsesServiceStub(channel)
                .create(CreateRequest(model="m", input=Input(text="hi")))
                .response
            )
            assert reply is not None and reply.status == "completed"
    assert workers.grpc_target not in workers.workers_announced()[1]


def test_a_background_run_on_one_worker_is_followed_cancelled_and_deleted_on_the_other(
    workers: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    first, second = _stubs(workers)

    # Started on worker 0, read to its end on worker 1 from a sequence number.
    upstream.enqueue(Script(text=WORDS, delay_s=0.03))
    started = first.create(CreateRequest(model="m", input=Input(text="hi"), background=True)).response
    assert started is not None and started.status == "queued"
    tail = [r.event for r in second.stream_get(StreamGetRequest(response_id=started.id, starting_after=2))]
    assert tail[0] is not None and tail[0].sequence_number == 3
    assert [e.sequence_number for e in tail if e is not None] == list(range(3, 3 + len(tail)))
    assert tail[-1] is not None and tail[-1].response_completed is not None
    done = second.get(GetRequest(response_id=started.id)).response
    assert done is not None and done.status == "completed"
    assert _client(workers).responses.retrieve(started.id).output_text == "".join(WORDS)

    # Running on worker 0, cancelled through worker 1: worker 0 stops its upstream call.
    upstream.enqueue(Script(text=[f"slow{i} " for i in range(200)], delay_s=0.05))
    running = first.create(CreateRequest(model="m", input=Input(text="hi"), background=True)).response
    assert running is not None
    assert _poll(_client(workers), running.id, lambda r: r.status == "in_progress").status == "in_progress"
    cancelled = second.cancel(CancelRequest(response_id=running.id)).response
    assert cancelled is not None and cancelled.status == "cancelled"
    assert upstream.received[-1].wait_ended() == "client_gone"
    after = first.get(GetRequest(response_id=running.id)).response
    assert after is not None and after.status == "cancelled"

    # Deleted on worker 1: gone on worker 0 and through Envoy.
    assert second.delete(DeleteRequest(response_id=started.id)).deleted
    with pytest.raises(grpc.RpcError) as gone:
        first.get(GetRequest(response_id=started.id))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_a_conversation_served_by_both_workers(workers: ServiceProcess, upstream: ScriptedUpstream) -> None:
    client = _client(workers)
    conversation = client.conversations.create()
    for turn in range(4):  # through Envoy: both workers take turns of it
        upstream.enqueue(Script(text=f"answer {turn}"))
        reply = client.responses.create(model="m", input=f"question {turn}", conversation=conversation.id)
        assert reply.output_text == f"answer {turn}"
    items = client.conversations.items.list(conversation.id, order="asc")
    texts = [c.text for item in items.data for c in item.content]  # type: ignore[union-attr]
    assert texts == [t for turn in range(4) for t in (f"question {turn}", f"answer {turn}")]
    # The last request carried the whole conversation to the upstream, whichever worker kept each turn.
    sent = json.dumps(upstream.requests[-1]["messages"])
    assert all(f"question {t}" in sent and f"answer {t}" in sent for t in range(3)), sent


def test_a_worker_that_dies_is_restarted_and_its_runs_fail_at_once(
    workers: ServiceProcess, upstream: ScriptedUpstream
) -> None:
    pids, _ = workers.workers_announced()
    first, second = _stubs(workers)
    upstream.enqueue(Script(text="never sent", first_byte_delay_s=60))
    orphan = second.create(CreateRequest(model="m", input=Input(text="hi"), background=True)).response
    assert orphan is not None
    assert _poll_grpc(first, orphan.id, lambda status: status == "in_progress") == "in_progress"

    os.kill(pids[1], signal.SIGKILL)  # calls in flight on it fail; the survivor answers the polls
    killed = time.monotonic()
    status = _poll_grpc(first, orphan.id, lambda status: status != "in_progress", timeout_s=LEASE_S + 5)
    took = time.monotonic() - killed
    restarted = _restarted(workers, pids, 1)

    failed = first.get(GetRequest(response_id=orphan.id)).response
    assert status == "failed" and failed is not None and failed.error is not None
    assert "stopped before it finished" in failed.error.message
    assert took < LEASE_S / 2, f"failed after {took:.1f} s: by the restarted worker, not after the lease"
    assert restarted[0] == pids[0] and restarted[1] != pids[1]
    assert f"worker 1 (pid {pids[1]}) exited with status -9" in workers.log()
    _, again = _stubs(workers)  # the restarted worker serves on its own port again
    upstream.enqueue(Script(text="back"))
    reply = again.create(CreateRequest(model="m", input=Input(text="hi"))).response
    assert reply is not None and reply.status == "completed"


def _restarted(service: ServiceProcess, pids: list[int], index: int, timeout_s: float = 10) -> list[int]:
    """The workers' pids once worker `index` says it serves again (its runs may end before it says so)."""
    deadline = time.monotonic() + timeout_s
    while True:
        now, _ = service.workers_announced()
        if now[index] != pids[index] or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def _poll_grpc(
    stub: ResponsesServiceStub, response_id: str, done: Callable[[str], bool], timeout_s: float = 15
) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = stub.get(GetRequest(response_id=response_id)).response
        assert seen is not None
        if done(seen.status) or time.monotonic() > deadline:
            return seen.status
        time.sleep(0.02)


def test_sigterm_drains_every_worker_then_stops(tmp_path: Path, upstream: ScriptedUpstream) -> None:
    service = ServiceProcess(
        data_dir=tmp_path, extra_args=["--upstream", upstream.base_url], workers=2, drain_s=10
    ).start()
    pids, _ = service.workers_announced()
    stubs = list(_stubs(service))
    streams = []
    for stub in stubs:  # one running stream on each worker
        upstream.enqueue(Script(text=WORDS, delay_s=0.15))
        stream = stub.stream_create(
            StreamCreateRequest(params=CreateRequest(model="m", input=Input(text="hi")))
        )
        streams.append((stream, next(stream)))  # response.created: it runs

    assert service.proc is not None
    service.proc.send_signal(signal.SIGTERM)
    ends = [[r.event for r in stream][-1] for stream, _ in streams]
    code = service.proc.wait(timeout=30)

    assert all(end is not None and end.response_completed is not None for end in ends), ends
    assert code == 0, service.log()
    assert service.log().rstrip().endswith("rejoinder: stopped")
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def test_the_local_model_runs_in_worker_0_only_and_both_workers_answer_with_it(tmp_path: Path) -> None:
    service = ServiceProcess(data_dir=tmp_path, extra_args=["--local-threads", "1"], workers=2).start()
    try:
        pids, _ = service.workers_announced()
        answers = []
        for stub in _stubs(service):  # worker 0 runs it; worker 1 asks worker 0
            request = CreateRequest(model=LOCAL_MODEL, input=Input(text="Say hello."), max_output_tokens=16)
            answers.append(stub.create(request).response)
        weights = str(default_model_path())
        mapped = [weights in Path(f"/proc/{pid}/maps").read_text() for pid in pids]
        tool = _client(service).responses.create(
            model=LOCAL_MODEL, input="What is the weather in Paris?", tools=[WEATHER], tool_choice="required"
        )
    finally:
        assert service.stop() == 0, service.log()

    assert mapped == [True, False]  # the weights are in worker 0's memory only
    for answer in answers:
        assert answer is not None and answer.status in ("completed", "incomplete")
        assert answer.usage is not None and answer.usage.output_tokens > 0
    call = tool.output[-1]
    assert call.type == "function_call" and call.name == "get_weather"
    assert isinstance(json.loads(call.arguments)["city"], str)
