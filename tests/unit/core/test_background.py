"""Background mode in the core: runs that outlive their request, polling, cancel, replays, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import pytest

from rejoinder.core.background.runs import BackgroundRuns
from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest, ListInputItemsRequest
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, InMemoryStore, SequentialIds

CODEC = OpenAIJson()


class GatedProvider:
    """Sends its first delta, then waits for `gate` before the rest; records whether it was closed."""

    def __init__(self, deltas: Sequence[p.ChatDelta] | Exception) -> None:
        self._deltas = deltas
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.closed = False

    @property
    def capabilities(self) -> p.Capabilities:
        return p.Capabilities()

    async def stream(self, req: p.ChatRequest) -> AsyncGenerator[p.ChatDelta, None]:
        self.started.set()
        if isinstance(self._deltas, Exception):
            raise self._deltas
        try:
            for index, delta in enumerate(self._deltas):
                if index == 1:
                    await self.gate.wait()
                yield delta
        finally:
            self.closed = True

    async def models(self) -> list[p.UpstreamModel]:
        return []

    async def aclose(self) -> None:
        return None


ANSWER: list[p.ChatDelta] = [
    p.TextDelta("Hello"),
    p.TextDelta(" there"),
    p.UsageDelta(3, 2),
    p.FinishDelta("stop"),
]


class Setup:
    def __init__(self, deltas: Sequence[p.ChatDelta] | Exception = ANSWER) -> None:
        self.provider = GatedProvider(deltas)
        self.store = InMemoryStore()
        self.clock = FakeClock()
        self.deps = Deps(
            store=self.store,
            providers=ProviderRegistry({"s": self.provider}, {}, "s"),
            clock=self.clock,
            ids=SequentialIds(),
        )
        self.runs = self.replica("replica_a")
        self.core = ResponsesCore(self.deps, self.runs)

    def replica(self, owner: str) -> BackgroundRuns:
        """The background runs of a replica sharing this store (lease 1 s, flushing every 10 ms)."""
        return BackgroundRuns(self.store, self.clock, owner, lease_s=1.0, flush_s=0.01)

    async def status(self, response_id: str) -> str:
        stored = await self.store.get(response_id)
        assert stored is not None
        return stored.status

    async def until(self, response_id: str, status: str) -> Response:
        for _ in range(200):
            stored = await self.store.get(response_id)
            if stored is not None and stored.status == status and self.runs.get(response_id) is None:
                return stored
            await asyncio.sleep(0.005)
        raise AssertionError(f"{response_id} never became {status}: {await self.status(response_id)}")


def request(**body: Any) -> CreateRequest:
    return CODEC.decode({"model": "m", "input": "hi", "background": True, **body}, CreateRequest)


def types(events: Sequence[ResponseStreamEvent]) -> list[str]:
    return [str(CODEC.encode(e)["type"]) for e in events]  # type: ignore[index]


async def test_create_returns_queued_and_the_run_goes_on_without_the_caller() -> None:
    s = Setup()
    queued = await s.core.create(request())
    assert (queued.status, queued.background, list(queued.output)) == ("queued", True, [])
    await s.provider.started.wait()
    await asyncio.sleep(0.01)
    assert await s.status(queued.id) == "in_progress"  # pollers see it running
    got = await s.core.get(queued.id)
    assert got.status == "in_progress" and got.background
    s.provider.gate.set()
    done = await s.until(queued.id, "completed")
    assert done.output[0].message.content[0].output_text.text == "Hello there"
    assert done.usage.output_tokens == 2 and done.completed_at
    page = await s.core.list_input_items(ListInputItemsRequest(response_id=queued.id))
    assert [CODEC.encode(i)["content"] for i in page.data] == [[{"type": "input_text", "text": "hi"}]]  # type: ignore[index]


async def test_a_background_stream_goes_on_after_its_reader_leaves_and_replays_from_any_point() -> None:
    s = Setup()
    source = await s.core.start(request(), stream=True)
    read: list[ResponseStreamEvent] = []
    async for event in source.events():
        read.append(event)
        if len(read) == 3:
            break  # the client went away
    assert types(read) == ["response.created", "response.queued", "response.in_progress"]
    created = read[0].response_created.response
    assert created.status == "queued" and read[2].response_in_progress.response.status == "in_progress"
    response_id = created.id
    live = await s.core.stream(response_id, 2)  # a new reader, while it runs
    s.provider.gate.set()
    rest = [event async for event in live.events()]
    assert [e.sequence_number for e in rest] == list(range(3, 3 + len(rest)))
    assert types(rest)[-1] == "response.completed"
    assert "response.output_text.delta" in types(rest)
    await s.until(response_id, "completed")
    kept = [event async for event in (await s.core.stream(response_id, None)).events()]
    assert kept == read + rest  # the whole stream, kept after the run ended
    tail = [event async for event in (await s.core.stream(response_id, len(kept) - 2)).events()]
    assert tail == kept[-1:]


async def test_two_live_readers_see_the_same_events() -> None:
    s = Setup()
    first = await s.core.start(request(), stream=True)
    first_events = first.events()
    opening = await anext(first_events)
    response_id = opening.response_created.response.id
    second = await s.core.stream(response_id, None)
    s.provider.gate.set()
    a = [opening] + [e async for e in first_events]
    b = [e async for e in second.events()]
    assert a == b and types(a)[-1] == "response.completed"


async def test_cancel_stops_the_run_and_is_idempotent() -> None:
    s = Setup()
    queued = await s.core.create(request())
    await s.provider.started.wait()
    cancelled = await s.core.cancel(queued.id)
    assert cancelled.status == "cancelled" and cancelled.background
    assert s.provider.closed  # the upstream call was stopped
    assert await s.status(queued.id) == "cancelled"
    again = await s.core.cancel(queued.id)
    assert again == cancelled
    s.provider.gate.set()
    await asyncio.sleep(0.01)
    assert await s.status(queued.id) == "cancelled"  # nothing overwrote it


async def test_cancel_of_a_finished_background_response_returns_it_unchanged() -> None:
    s = Setup()
    s.provider.gate.set()
    queued = await s.core.create(request())
    done = await s.until(queued.id, "completed")
    assert await s.core.cancel(queued.id) == done


async def test_cancel_of_a_foreground_response_is_a_conflict() -> None:
    s = Setup()
    s.provider.gate.set()
    response = await s.core.create(request(background=False))
    with pytest.raises(ApiError) as info:
        await s.core.cancel(response.id)
    assert info.value.kind is ErrorKind.CONFLICT and "background" in info.value.message
    with pytest.raises(ApiError) as missing:
        await s.core.cancel("resp_missing")
    assert missing.value.kind is ErrorKind.NOT_FOUND


async def test_every_background_response_can_be_streamed_but_no_other() -> None:
    s = Setup()
    s.provider.gate.set()
    quiet = await s.core.create(request())  # background, not streamed: its events are kept all the same
    done = await s.until(quiet.id, "completed")
    replay = [e async for e in (await s.core.stream(quiet.id, None)).events()]
    assert types(replay)[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert replay[-1].response_completed.response == done
    foreground = await s.core.create(request(background=False))
    with pytest.raises(ApiError) as info:
        await s.core.stream(foreground.id, None)
    assert info.value.kind is ErrorKind.INVALID_REQUEST
    assert info.value.code == "response_not_streamable"
    with pytest.raises(ApiError) as missing:
        await s.core.stream("resp_missing", None)
    assert missing.value.kind is ErrorKind.NOT_FOUND


async def test_another_replica_streams_and_cancels_a_run_it_does_not_run() -> None:
    s = Setup([p.TextDelta(f"t{i} ") for i in range(50)] + [p.FinishDelta("stop")])
    other = ResponsesCore(s.deps, s.replica("replica_b"))
    source = await s.core.start(request(), stream=True)
    opening = await anext(source.events())
    response_id = opening.response_created.response.id
    await s.provider.started.wait()
    follower = (await other.stream(response_id, 0)).events()  # polls the store: replica_b does not run it
    first = await anext(follower)
    assert first.sequence_number == 1 and first.WhichOneof("event") == "response_queued"

    cancelling = asyncio.create_task(other.cancel(response_id))
    await asyncio.sleep(0.05)
    assert not cancelling.done()  # it waits for the runner, which sees the request at its heartbeat
    await s.runs.tick()
    cancelled = await cancelling
    assert cancelled.status == "cancelled" and s.provider.closed
    rest = [e async for e in follower]  # the follower ends when the run does, without a terminal event
    assert [e.sequence_number for e in rest] == list(range(2, 2 + len(rest)))
    assert (await s.core.get(response_id)).status == "cancelled"


async def test_a_run_whose_runner_is_not_heard_of_is_failed_by_another_replica() -> None:
    s = Setup()
    running = await s.core.create(request())
    await s.provider.started.wait()
    await s.runs.tick()  # replica_a beats
    other = s.replica("replica_b")
    s.clock.advance(0.5)
    assert await other.tick() == 0  # within the lease
    s.clock.advance(1.0)
    assert await other.tick() == 1  # replica_a has not been heard of for 1.5 s
    lost = await s.store.get(running.id)
    assert lost is not None and lost.status == "failed" and "stopped" in lost.error.message
    await s.runs.close()


async def test_an_upstream_failure_fails_the_stored_response_not_the_request() -> None:
    s = Setup(p.UpstreamError("status", "upstream down", status=503))
    queued = await s.core.create(request())
    assert queued.status == "queued"
    failed = await s.until(queued.id, "failed")
    assert failed.error.code == "server_error" and failed.error.message


async def test_shutdown_fails_running_responses_and_a_restart_fails_what_a_crash_left() -> None:
    s = Setup()
    running = await s.core.create(request())
    await s.provider.started.wait()
    await s.runs.close()
    stopped = await s.store.get(running.id)
    assert stopped is not None and stopped.status == "failed"
    assert "shut down" in stopped.error.message

    crashed = Response(id="resp_crashed", status="in_progress", background=True, created_at=1)
    queued = Response(id="resp_queued", status="queued", background=True, created_at=2)
    for response in (crashed, queued):
        await s.store.save(response, [])
    s.clock.advance(60)
    assert await s.replica("replica_restarted").tick() == 2
    for response_id in ("resp_crashed", "resp_queued"):
        stored = await s.store.get(response_id)
        assert stored is not None and stored.status == "failed" and stored.error.code == "server_error"
        assert stored.completed_at == int(s.clock.now())
    assert await s.store.stale(int(s.clock.now() * 1000) + 1) == ()


async def test_a_running_response_cannot_be_continued_until_it_finishes() -> None:
    s = Setup()
    running = await s.core.create(request())
    await s.provider.started.wait()
    with pytest.raises(ApiError) as info:
        await s.core.create(request(background=False, previous_response_id=running.id))
    assert (info.value.param, info.value.code) == ("previous_response_id", "previous_response_not_finished")
    s.provider.gate.set()
    await s.until(running.id, "completed")
    s.provider.gate.clear()
    s.provider.started.clear()
    follow_up = await s.core.create(request(previous_response_id=running.id))  # once finished, it can
    assert follow_up.previous_response_id == running.id
    await s.runs.close()


async def test_deleting_a_running_response_stops_it_for_good() -> None:
    s = Setup()
    running = await s.core.create(request())
    await s.provider.started.wait()
    deleted = await s.core.delete(running.id)
    assert deleted.deleted and s.provider.closed
    s.provider.gate.set()
    await asyncio.sleep(0.02)
    assert await s.store.get(running.id) is None  # the stopped run did not store it again
    with pytest.raises(ApiError):
        await s.core.get(running.id)
