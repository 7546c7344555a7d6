"""Background responses: runs that outlive the request that started them.

A background run is driven by its own task, not by a client. Its status is in the store (`queued`
when created, `in_progress` once it runs, then terminal), so any reader can poll it. When it was
created with `stream: true` its events are also recorded: readers follow them live from any
sequence number, and the whole stream is kept in the store when the run ends, for later replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from rejoinder.core.clock import Clock
from rejoinder.core.orchestrator import Run
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store.base import ResponseStore

log = logging.getLogger(__name__)

SHUTDOWN = ApiError(ErrorKind.INTERNAL, "The server shut down before this background response finished.")


def events_after(events: tuple[ResponseStreamEvent, ...], after: int) -> AsyncIterator[ResponseStreamEvent]:
    """The kept events whose sequence number is above `after`."""

    async def replay() -> AsyncIterator[ResponseStreamEvent]:
        for event in events:
            if event.sequence_number > after:
                yield event

    return replay()


class LiveRun:
    """One running background response."""

    def __init__(self, run: Run, store: ResponseStore, *, record: bool) -> None:
        self.run = run
        self._store = store
        self._record = record
        self._events: list[ResponseStreamEvent] = []
        self._changed = asyncio.Condition()
        self._done = False
        self.task: asyncio.Task[None] = asyncio.get_running_loop().create_task(self._drive())

    @property
    def streamable(self) -> bool:
        """Whether its events are recorded (it was created with `stream: true`)."""
        return self._record

    async def _drive(self) -> None:
        try:
            async for event in self.run.events():  # never raises but when the task is cancelled
                if self._record:
                    async with self._changed:
                        self._events.append(event)
                        self._changed.notify_all()
        finally:
            if self._record:  # also what a cancelled run streamed, for replays
                try:
                    await asyncio.shield(self._store.save_events(self.run.response.id, self._events))
                except Exception:
                    log.exception("background response %s: keeping its events failed", self.run.response.id)
            async with self._changed:
                self._done = True
                self._changed.notify_all()

    def events(self) -> AsyncIterator[ResponseStreamEvent]:
        """All its events, as `follow(-1)`."""
        return self.follow(-1)

    async def follow(self, after: int) -> AsyncIterator[ResponseStreamEvent]:
        """Its recorded events above sequence number `after`, then each as it comes, to the end.

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
        """Cancel the run (ending `failed` with `error` when given, else `cancelled`) and wait for it."""
        if error is not None:
            self.run.interrupt(error)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class BackgroundRuns:
    """The background responses this process is running, by response ID."""

    def __init__(self, store: ResponseStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._live: dict[str, LiveRun] = {}

    def launch(self, run: Run) -> LiveRun:
        """Start driving `run` (already stored as `queued`); it records its events if it streams."""
        response_id = run.response.id
        live = LiveRun(run, self._store, record=run.streams)  # non-stream runs keep no events
        self._live[response_id] = live
        live.task.add_done_callback(lambda _: self._live.pop(response_id, None))
        return live

    def get(self, response_id: str) -> LiveRun | None:
        """The live run of that response, if this process is running it."""
        return self._live.get(response_id)

    async def recover(self) -> int:
        """Fail what a previous process left `queued` or `in_progress` (it cannot be resumed)."""
        stale = await self._store.unfinished()
        for response in stale:
            if response.id in self._live:
                continue
            await self._store.save(_failed(response, SHUTDOWN, int(self._clock.now())), [])
        return len(stale)

    async def close(self) -> None:
        """Stop every run: each ends `failed` (the server shut down) and is stored so."""
        for live in list(self._live.values()):
            await live.stop(SHUTDOWN)


def _failed(response: Response, error: ApiError, now: int) -> Response:
    failed = Response()
    failed.CopyFrom(response)
    failed.status = "failed"
    failed.completed_at = now
    failed.error.code = "server_error"
    failed.error.message = error.message
    return failed
