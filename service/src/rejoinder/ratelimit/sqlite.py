"""The rate limiter shared by every worker process on one SQLite database file.

`rejoinder serve --workers N` runs N processes on the same WAL file. Counting in each process's memory
would grant each the whole quota (N times the limit), so the counts live in the file. Semantics are those
of `memory.py` and `postgres.py`: the sliding window of `window.py`, tokens charged at finish, the same
headers and 429s (`replies.py`), and concurrency slots per (tenant, replica) under a lease. The design:

- **The tables are migration 3 of `store/sqlite_schema.py`**, as PostgreSQL's are its migration 2: one
  version number describes the file, and a limiter that opens a file before any store did brings it up
  to date itself (it connects with the store's `connect`: WAL, `synchronous = NORMAL`, migrations). A
  server without limits never opens this limiter (`factory.py`), so the tables stay empty and untouched.
- **Its own connection, on its own thread.** Every statement runs on one worker thread that owns the
  limiter's only connection (as `store/sqlite.py` does for the store), so the event loop never waits for
  SQLite or its lock. It is not the store's thread: an admission must not queue behind a large `save`.
- **One `BEGIN IMMEDIATE` transaction per admission** (`sqlite_ops.admit`). It takes the database's
  write lock before reading, which orders all admissions of all processes on the file: each sees what
  the previous one committed, so together they never grant more than the limit. (A deferred transaction
  that read first could not upgrade once another process had written: SQLite fails it at once, without
  waiting.) The lock is the whole file's, not the tenant's row as in PostgreSQL, and the store's writes
  take it too; an admission holds it for some 30 microseconds.
- **`busy_timeout`** (the store's 5 s by default): while another process holds the lock, SQLite's busy
  handler sleeps and retries (1, 2, 5, 10 ms...), so a contended admission waits a millisecond or a few.
  Only a database locked for the whole timeout fails an admission (the error propagates, as a failed
  PostgreSQL round trip does; nothing is taken), and never sooner than the store's own writes would fail.
- **Windows as rows**, one per (tenant, kind, one-second bucket): the admission deletes the tenant's
  expired buckets, reads the rest (at most 61 per window) into `window.Window`s, so the code that decides
  is the in-memory limiter's, and adds the request to its bucket with an upsert.
- **`finish` never waits.** What is pending, the background task that writes it and renews the slots
  every `lease_s / 3`, and the retries are `finishes.py`, shared with the PostgreSQL limiter. Here a
  write is one transaction (`sqlite_ops.finish`: tokens in the bucket of the moment each response
  finished, slots released); a write whose caller is cancelled still completes, or is kept when it fails.
- **Leases.** This replica's slots expire `lease_s` after their last renewal, so a killed worker's stop
  counting then; a renewal deletes the slots of replicas gone for a whole lease, and the buckets no
  window counts any more. Opening a limiter deletes the slots of an earlier process with the same
  replica id; `close` writes what is pending and deletes this replica's slots.
- **An admission whose caller is cancelled** while its transaction waits or runs still commits (the
  thread does not stop); it is then finished at once, with no tokens, so its slot is not held forever.

Times are the injected clock; the processes on one machine share it. `bench/ratelimit_sqlite.py`
measures an admission alone and with several processes contending.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.clock import Clock
from rejoinder.ratelimit import sqlite_ops as ops
from rejoinder.ratelimit.base import Admission
from rejoinder.ratelimit.finishes import Charge, Finishes, Release
from rejoinder.store import sqlite_ops as store_ops
from rejoinder.store.sqlite import DEFAULT_BUSY_TIMEOUT_S

DEFAULT_LEASE_S = 15.0

_P = ParamSpec("_P")
_T = TypeVar("_T")


class _Thread:
    """The limiter's connection and the one thread that uses it."""

    def __init__(self, executor: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self._executor = executor
        self._conn = conn

    @classmethod
    async def open(cls, path: str, busy_timeout_s: float) -> _Thread:
        """Connect on a new thread (WAL, `synchronous = NORMAL`, the schema brought up to date)."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rejoinder-ratelimit")
        try:
            loop = asyncio.get_running_loop()
            conn = await loop.run_in_executor(executor, store_ops.connect, path, busy_timeout_s)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, conn)

    def submit(
        self, fn: Callable[Concatenate[sqlite3.Connection, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> asyncio.Future[_T]:
        """Queue `fn(conn, ...)` on the thread; it runs (in order) even when nobody awaits it."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, functools.partial(fn, self._conn, *args, **kwargs))

    async def close(self) -> None:
        """Close the connection after everything queued, and let the thread end."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._conn.close)
        finally:
            self._executor.shutdown(wait=False)


class SqliteRateLimiter:
    """A `RateLimiter` whose counts live in a SQLite file, shared by the processes that open it; open
    with `open`."""

    def __init__(
        self, thread: _Thread, settings: RateLimitSettings, clock: Clock, replica: str, lease_s: float
    ) -> None:
        """Use `open`."""
        self._thread = thread
        self._settings = settings
        self._clock = clock
        self._replica = replica
        self._lease_s = lease_s
        self._unlimited = Admission()
        self._finishes = Finishes(clock, lease_s, self._write, self._renew, shield_writes=True)

    @classmethod
    async def open(
        cls,
        path: str | Path,
        settings: RateLimitSettings,
        clock: Clock,
        *,
        replica: str,
        lease_s: float = DEFAULT_LEASE_S,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> SqliteRateLimiter:
        """A limiter for `replica` (unique per running process) on the database file at `path`."""
        thread = await _Thread.open(str(path), busy_timeout_s)
        try:
            await thread.submit(ops.release_all, replica)
        except BaseException:
            await thread.close()
            raise
        return cls(thread, settings, clock, replica, lease_s)

    async def admit(self, tenant: str) -> Admission:
        """Admit one request of `tenant` (one transaction; none without limits), or raise the 429."""
        if self._finishes.closed:
            raise RuntimeError("the rate limiter is closed")
        limits = self._settings.for_tenant(tenant)
        if limits.unlimited:
            return self._unlimited
        now = self._clock.now()
        job = self._thread.submit(ops.admit, tenant, self._replica, now, self._lease_s, limits)
        try:
            verdict = await asyncio.shield(job)
        except asyncio.CancelledError:
            job.add_done_callback(functools.partial(self._abandoned, tenant, limits))
            raise
        if verdict.refused is not None:
            raise verdict.snapshot.refusal(verdict.refused)
        return Admission(verdict.snapshot.headers(), self._finishes.on_finish(tenant, limits))

    async def flush(self) -> None:
        """Write the finishes so far now (raises when that fails; they are kept for the next try)."""
        await self._finishes.flush()

    async def renew(self) -> None:
        """Renew this replica's slots now (the background task does it every `lease_s / 3`)."""
        await self._finishes.renew()

    async def close(self) -> None:
        """Write what is pending, release this replica's slots, close the connection and stop."""
        await self._finishes.close(
            (lambda: self._thread.submit(ops.release_all, self._replica), "releasing slots at close"),
            (self._thread.close, "closing the connection"),
        )

    def _abandoned(self, tenant: str, limits: TenantLimits, job: asyncio.Future[ops.Verdict]) -> None:
        """An admission whose caller went away while it ran: finish it if it was admitted."""
        if job.cancelled() or job.exception() is not None or job.result().refused is not None:
            return
        on_finish = self._finishes.on_finish(tenant, limits)
        if on_finish is not None:
            on_finish(0)

    def _write(self, charges: list[Charge], releases: list[Release]) -> asyncio.Future[None]:
        """One transaction, queued at once: it runs to its end even when its caller is cancelled."""
        return self._thread.submit(ops.finish, self._replica, self._clock.now(), charges, releases)

    async def _renew(self) -> None:
        await self._thread.submit(ops.renew, self._replica, self._clock.now(), self._lease_s)
