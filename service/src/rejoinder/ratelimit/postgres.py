"""The shared rate limiter: every replica that uses the same PostgreSQL store grants from one quota.

Tables and functions are migration 2 of `store/postgres_schema.py`:

- `ratelimit_windows`: one row per tenant with its request and token windows (`window.py`: one-second
  buckets, oldest first, as parallel arrays, with their totals);
- `ratelimit_in_flight`: per (tenant, replica), the requests in flight and `expires_at`. This replica
  renews the expiry of its rows every `lease_s / 3`. When a replica crashes, its rows stop counting
  `lease_s` after their last renewal, and another replica's renewal deletes them one lease later.

An admission is ONE round trip, on a connection this limiter keeps (`Lent`; a pool's acquire and
release would add a reset query). `rejoinder_ratelimit_admit(...)` locks the tenant's window row, which
orders the tenant's admissions across replicas. It trims the windows, counts the unexpired slots in
flight, checks the limits, and then adds the request and its slot, or writes nothing when it refuses.
It returns the windows, from which the headers are computed here, as `memory.py` computes them.

`finish` never waits: what is pending, the background task that writes it and renews the slots, and
the retries are `finishes.py`, shared with the SQLite limiter. Here a write is one call to
`rejoinder_ratelimit_finish(...)` (tokens charged in the bucket of the moment each response finished,
slots released); a cancelled caller cancels it, and what it held is kept. `close` writes what is left
and releases this replica's slots. The tables are UNLOGGED, so no admission waits for a disk.

Times are this replica's clock (injected); replicas are expected to agree on the time to well under a
second (NTP). `replica` must be unique per running process: opening a limiter deletes the slots left
by a previous process with the same id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.clock import Clock
from rejoinder.ratelimit.base import Admission
from rejoinder.ratelimit.finishes import Charge, Finishes, Release
from rejoinder.ratelimit.replies import REASONS, Snapshot, concurrent_usage
from rejoinder.ratelimit.window import WINDOW_S, usage
from rejoinder.store.postgres import PostgresStore

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

DEFAULT_LEASE_S = 15.0
DEFAULT_CONNECTIONS = 4
ADMIT = "SELECT * FROM rejoinder_ratelimit_admit($1, $2, $3, $4, $5, $6, $7, $8)"
_FINISH = "SELECT rejoinder_ratelimit_finish($1, $2, $3, $4, $5, $6, $7, $8)"
# Renew this replica's slots; drop the rows of replicas gone for a whole lease.
_RENEW = """
WITH gone AS (
    DELETE FROM ratelimit_in_flight WHERE replica <> $1 AND expires_at <= $2::float8 - $3::float8
)
UPDATE ratelimit_in_flight SET expires_at = $2::float8 + $3::float8 WHERE replica = $1
"""
_RELEASE_ALL = "DELETE FROM ratelimit_in_flight WHERE replica = $1"


class Lent:
    """Connections borrowed from the store's pool for the limiter's whole life, each connected on its
    first use. A statement on one of them is one round trip: the pool's acquire and release would add a
    second one, its reset query, to every statement. The last one given back is the next one taken, so
    a quiet limiter keeps using one warm backend."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], size: int) -> None:
        self._pool = pool
        self._idle: asyncio.LifoQueue[PoolConnectionProxy[asyncpg.Record] | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._idle.put_nowait(None)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        """The first row of `query`, on an idle connection (waits for one)."""
        conn = await self._take()
        try:
            return await conn.fetchrow(query, *args)
        except asyncio.CancelledError:
            conn.terminate()  # stopped mid-statement: replaced on its next use
            raise
        finally:
            self._idle.put_nowait(conn)

    async def execute(self, query: str, *args: object) -> str:
        """Run `query` on an idle connection (waits for one)."""
        conn = await self._take()
        try:
            return await conn.execute(query, *args)
        except asyncio.CancelledError:
            conn.terminate()
            raise
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        """Give the idle connections back to the pool."""
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                await self._pool.release(conn)

    async def _take(self) -> PoolConnectionProxy[asyncpg.Record]:
        conn = await self._idle.get()
        if conn is not None and _usable(conn):
            return conn
        try:
            if conn is not None:
                await self._pool.release(conn)  # a closed one (a no-op when the pool took it back)
            return await self._pool.acquire()
        except BaseException:
            self._idle.put_nowait(None)
            raise


def _usable(conn: PoolConnectionProxy[asyncpg.Record]) -> bool:
    """Whether a lent connection still works: when its socket closes, the pool takes it back by
    itself, and the proxy then raises on every call."""
    try:
        return not conn.is_closed()
    except Exception:  # asyncpg's InterfaceError: released to the pool
        return False


class PostgresRateLimiter:
    """A `RateLimiter` whose counts live in PostgreSQL, shared by the replicas; open with `open`."""

    def __init__(
        self,
        conns: Lent,
        settings: RateLimitSettings,
        clock: Clock,
        replica: str,
        lease_s: float,
    ) -> None:
        """Use `open`."""
        self._conns = conns
        self._settings = settings
        self._clock = clock
        self._replica = replica
        self._lease_s = lease_s
        self._unlimited = Admission()
        self._finishes = Finishes(clock, lease_s, self._write, self._renew, shield_writes=False)

    @classmethod
    async def open(
        cls,
        store: PostgresStore,
        settings: RateLimitSettings,
        clock: Clock,
        *,
        replica: str,
        lease_s: float = DEFAULT_LEASE_S,
        connections: int = DEFAULT_CONNECTIONS,
    ) -> PostgresRateLimiter:
        """A limiter for `replica` on the store's database (whose schema the store brought up to date),
        holding up to `connections` of the store's pool (size the pool for them)."""
        await store.pool.execute(_RELEASE_ALL, replica)
        return cls(Lent(store.pool, connections), settings, clock, replica, lease_s)

    async def admit(self, tenant: str) -> Admission:
        """Admit one request of `tenant` (one round trip; none without limits), or raise the 429."""
        if self._finishes.closed:
            raise RuntimeError("the rate limiter is closed")
        limits = self._settings.for_tenant(tenant)
        if limits.unlimited:
            return self._unlimited
        now = self._clock.now()
        row = await self._conns.fetchrow(
            ADMIT, *admit_args(tenant, self._replica, now, self._lease_s, limits)
        )
        if row is None:
            raise RuntimeError("rejoinder_ratelimit_admit returned no row")
        snapshot = snapshot_of(limits, row, now)
        if row["refused"] is not None:
            raise snapshot.refusal(REASONS[row["refused"]])
        return Admission(snapshot.headers(), self._finishes.on_finish(tenant, limits))

    async def flush(self) -> None:
        """Write the finishes so far now (raises when that fails; they are kept for the next try)."""
        await self._finishes.flush()

    async def renew(self) -> None:
        """Renew this replica's slots now (the background task does it every `lease_s / 3`)."""
        await self._finishes.renew()

    async def close(self) -> None:
        """Write what is pending, release this replica's slots, give the connections back and stop."""
        await self._finishes.close(
            (lambda: self._conns.execute(_RELEASE_ALL, self._replica), "releasing slots at close"),
            (self._conns.close, "giving the connections back at close"),
        )

    async def _write(self, charges: list[Charge], releases: list[Release]) -> None:
        await self._conns.execute(_FINISH, *finish_args(self._replica, self._clock.now(), charges, releases))

    async def _renew(self) -> None:
        await self._conns.execute(_RENEW, self._replica, self._clock.now(), self._lease_s)


def admit_args(
    tenant: str, replica: str, now: float, lease_s: float, limits: TenantLimits
) -> tuple[object, ...]:
    """The parameters of `ADMIT`."""
    rpm, tpm, concurrent = limits.requests_per_minute, limits.tokens_per_minute, limits.concurrent_requests
    return (tenant, replica, now, WINDOW_S, lease_s, rpm, tpm, concurrent)


def finish_args(
    replica: str, now: float, charges: Sequence[Charge], releases: Sequence[Release]
) -> tuple[object, ...]:
    """The parameters of `_FINISH`: the charges as three arrays, the releases as two."""
    return (
        replica,
        now,
        WINDOW_S,
        [t for t, _, _ in charges],
        [key for _, key, _ in charges],
        [n for _, _, n in charges],
        [t for t, _ in releases],
        [n for _, n in releases],
    )


def snapshot_of(limits: TenantLimits, row: asyncpg.Record, now: float) -> Snapshot:
    """The tenant's usage from a row of `rejoinder_ratelimit_admit`."""
    rpm, tpm, concurrent = limits.requests_per_minute, limits.tokens_per_minute, limits.concurrent_requests
    requests = tokens = held = None
    if rpm is not None:
        counts = row["request_counts"]
        requests = usage(rpm, row["request_keys"], counts, sum(counts), now)
    if tpm is not None:
        counts = row["token_counts"]
        tokens = usage(tpm, row["token_keys"], counts, sum(counts), now)
    if concurrent is not None:
        held = concurrent_usage(concurrent, row["in_flight"])
    return Snapshot(requests, tokens, held)
