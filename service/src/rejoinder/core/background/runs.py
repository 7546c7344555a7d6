"""Background responses: runs that outlive the request that started them, shared by all replicas.

A background run is driven by a task of the replica that created it (its runner), not by a client.
Everything another replica needs is in the store:

- its status (`queued` when created, `in_progress` once it runs, then terminal), so any replica can
  `GET` it;
- its events, appended in batches (every `flush_s`, never per delta), so any replica can stream it
  from any sequence number: the runner serves its own readers from memory, the others poll the store;
- a heartbeat of the runner (every `lease_s / 5`), which also picks up cancel requests: a replica asked
  to cancel another's run flags it in the store and waits for the runner to stop it;
- a run whose runner has not been heard of for `lease_s` (a crash) is marked `failed` by whichever
  replica sees it first, so no response stays `in_progress` forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from rejoinder.core.background.replay import failed_at_end
from rejoinder.core.clock import Clock
from rejoinder.core.run.orchestrator import Run
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.observe.observer import SILENT, Observer
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store.base import UNFINISHED, ResponseStore, TenantResponse

log = logging.getLogger(__name__)

SHUTDOWN = ApiError(
    ErrorKind.UNAVAILABLE,
    "The server shut down before this response finished; what it made so far is kept. Retry the request.",
    code="server_shutting_down",
)
LOST = ApiError(ErrorKind.INTERNAL, "The server running this background response stopped before it finished.")
TERMINAL_EVENTS = ("response_completed", "response_incomplete", "response_failed")
DEFAULT_LEASE_S = 15.0
DEFAULT_FLUSH_S = 0.25


def _is_terminal(event: ResponseStreamEvent) -> bool:
    return event.WhichOneof("event") in TERMINAL_EVENTS


class LiveRun:
    """One background response this replica runs: its task, its events in memory and their flushing."""

    def __init__(
        self, run: Run, store: ResponseStore, flush_s: float, claim: Callable[[], Awaitable[object]]
    ) -> None:
        """`claim` marks the run as this replica's in the store (its first heartbeat)."""
        self.run = run
        self._claim = claim
        self._store = store
        self._flush_s = flush_s
        self._events: list[ResponseStreamEvent] = []
        self._flushed = 0
        self._flush_lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self._done = False
        loop = asyncio.get_running_loop()
        self.task: asyncio.Task[None] = loop.create_task(self._drive())
        self._flusher = loop.create_task(self._flush_every())

    @property
    def response_id(self) -> str:
        return self.run.response.id

    async def _drive(self) -> None:
        try:
            await self._claim()  # so that a restart of this replica knows the run was its own
            async for event in self.run.events():  # never raises but when the task is cancelled
                async with self._changed:
                    self._events.append(event)
                    self._changed.notify_all()
        finally:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            await asyncio.shield(self._flush())  # what a cancelled run streamed is kept too
            async with self._changed:
                self._done = True
                self._changed.notify_all()

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(self._flush_s)
            await self._flush()

    async def _flush(self) -> None:
        async with self._flush_lock:
            pending = self._events[self._flushed :]
            if not pending:
                return
            try:
                await self._store.append_events(self.response_id, pending)
                self._flushed += len(pending)
            except Exception:
                log.exception("background response %s: keeping its events failed", self.response_id)

    def events(self) -> AsyncIterator[ResponseStreamEvent]:
        """All its events, as `follow(-1)`."""
        return self.follow(-1)

    async def follow(self, after: int) -> AsyncIterator[ResponseStreamEvent]:
        """Its events above sequence number `after`, then each as it comes, to the end.

        A reader that stops following does not stop the run.
        """
        seen = 0
        while True:
            async with self._changed:
                await self._changed.wait_for(functools.partial(self._ready, seen))
                ready = self._events[seen:]
                done = self._done
            seen += len(ready)
            for event in ready:
                if event.sequence_number > after:
                    yield event
            if done and not ready:
                return

    def _ready(self, seen: int) -> bool:
        return seen < len(self._events) or self._done

    async def stop(self, error: ApiError | None = None) -> None:
        """Stop the run and wait for it: `failed` with `error` when given (its last events say so), else
        `cancelled`."""
        if error is not None:
            self.run.interrupt(error)  # cancels this task where it reads the run's events
        else:
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class BackgroundRuns:
    """The background runs of this replica (`owner`), and reading and cancelling any replica's."""

    def __init__(
        self,
        store: ResponseStore,
        clock: Clock,
        owner: str,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        flush_s: float = DEFAULT_FLUSH_S,
        observer: Observer = SILENT,
    ) -> None:
        self._observer = observer
        self._store = store
        self._clock = clock
        self._owner = owner
        self._lease_s = lease_s
        self._flush_s = flush_s
        self._live: dict[str, LiveRun] = {}
        self._beat: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()  # held until done (the loop keeps weak refs)

    def launch(self, run: Run) -> LiveRun:
        """Start driving `run` (already stored as `queued`)."""
        live = LiveRun(run, self._store, self._flush_s, functools.partial(self._claim, run.response.id))
        self._live[live.response_id] = live
        self._observer.background(len(self._live))
        live.task.add_done_callback(lambda _: self._ended(live))
        return live

    def _ended(self, live: LiveRun) -> None:
        self._live.pop(live.response_id, None)
        self._observer.background(len(self._live), ended=live.run.response.status)

    async def _claim(self, response_id: str) -> None:
        await self._store.heartbeat(self._owner, [response_id], int(self._clock.now() * 1000))

    def get(self, response_id: str) -> LiveRun | None:
        """The live run of that response, if this replica runs it."""
        return self._live.get(response_id)

    def start(self) -> None:
        """Heartbeat this replica's runs and sweep lost ones, every `lease_s / 5`, until `close`."""
        self._beat = asyncio.get_running_loop().create_task(self._beat_every())

    async def _beat_every(self) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 5)
            try:
                await self.tick()
            except Exception:
                log.exception("background runs: heartbeat failed")

    async def tick(self) -> int:
        """One heartbeat: claim our runs, stop those asked to cancel, fail lost ones; returns how many."""
        now_ms = int(self._clock.now() * 1000)
        if self._live:
            for response_id in await self._store.heartbeat(self._owner, list(self._live), now_ms):
                live = self._live.get(response_id)
                if live is not None:
                    stopping = asyncio.get_running_loop().create_task(live.stop())
                    self._stopping.add(stopping)
                    stopping.add_done_callback(self._stopping.discard)
        return await self._end_lost(now_ms - int(self._lease_s * 1000))

    async def recover(self) -> int:
        """At start: end the runs this replica left unfinished when it last stopped (it knows its own by
        its identity, kept across restarts), and those of replicas gone for a lease; returns how many."""
        return await self._end_lost(int(self._clock.now() * 1000) - int(self._lease_s * 1000), self._owner)

    async def _end_lost(self, before_ms: int, owner: str | None = None) -> int:
        lost = 0
        for owned in await self._store.stale(before_ms, owner=owner):
            if owned.response.id not in self._live:
                await self._end(owned)
                lost += 1
        return lost

    async def _end(self, owned: TenantResponse) -> None:
        """End a run whose runner is gone as the run would have: `failed`, with the output its kept events
        made, and those events closed by `error` and `response.failed`."""
        response_id = owned.response.id
        kept = await self._store.load_events(response_id)
        failed, closing = failed_at_end(owned.response, kept, LOST, int(self._clock.now()))
        await self._store.append_events(response_id, closing)
        await self._store.save(failed, [], tenant=owned.tenant)

    async def follow_stored(
        self, response_id: str, after: int, tenant: str
    ) -> AsyncIterator[ResponseStreamEvent]:
        """Another replica's (or a finished) run's events above `after`, polling the store until its end.

        The end is its terminal event, or, for a run that ends without one (cancelled, lost), its
        terminal status with nothing more kept after it.
        """
        quiet_after_end = 0
        while quiet_after_end < 2:
            events = await self._store.load_events(response_id, after)
            for event in events:
                yield event
                after = event.sequence_number
                if _is_terminal(event):
                    return
            response = await self._store.get(response_id, tenant=tenant)
            if response is None:
                return
            if response.status not in UNFINISHED and not events:
                quiet_after_end += 1
            await asyncio.sleep(self._flush_s)

    async def cancel(self, response_id: str, tenant: str) -> Response | None:
        """Cancel a background run wherever it runs; the response as it then stands (None: deleted)."""
        live = self._live.get(response_id)
        if live is not None:
            await live.stop()
            return await self._store.get(response_id, tenant=tenant)
        response = await self._store.get(response_id, tenant=tenant)
        if response is None or response.status not in UNFINISHED:
            return response
        await self._store.request_cancel(response_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self._lease_s  # its runner sees the request at its next heartbeat
        while loop.time() < deadline:
            await asyncio.sleep(self._flush_s)
            response = await self._store.get(response_id, tenant=tenant)
            if response is None or response.status not in UNFINISHED:
                return response
        if response is None:
            return None
        cancelled = _ended(response, "cancelled", int(self._clock.now()))  # its runner is gone
        await self._store.save(cancelled, [], tenant=tenant)
        return cancelled

    async def close(self) -> None:
        """Stop heartbeating and stop every run: each ends `failed` (the server shut down), so stored."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        for live in list(self._live.values()):
            await live.stop(SHUTDOWN)


def _ended(response: Response, status: str, now: int) -> Response:
    """The response as its runner would have left it, had it not gone away."""
    ended = Response()
    ended.CopyFrom(response)
    ended.status = status
    ended.completed_at = now
    return ended
