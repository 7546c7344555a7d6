"""One behaviour suite for every rate limiter. On PostgreSQL, two limiters with different replica ids on
one database stand for two replicas behind one Envoy; on SQLite, two limiters on one file stand for two
worker processes of `rejoinder serve --workers N` (each limiter has its own connection, as a process has).

The in-process limiter is one process: its "replicas" are the same limiter, so the shared-quota tests
hold trivially there and the crash tests are the shared limiters' alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.errors import ApiError
from rejoinder.ratelimit.base import Admission
from rejoinder.ratelimit.memory import MemoryRateLimiter
from rejoinder.ratelimit.postgres import PostgresRateLimiter
from rejoinder.ratelimit.sqlite import SqliteRateLimiter
from rejoinder.store.postgres import PostgresStore
from tests.fakes import FakeClock
from tests.postgres_server import create_database, drop_database

Limiter = MemoryRateLimiter | PostgresRateLimiter | SqliteRateLimiter
LEASE_S = 30.0
T0 = 1_700_000_000.0
SETTINGS = RateLimitSettings(
    tenants={
        "rpm3": TenantLimits(requests_per_minute=3),
        "rpm5": TenantLimits(requests_per_minute=5),
        "tpm100": TenantLimits(tokens_per_minute=100),
        "conc2": TenantLimits(concurrent_requests=2),
        "mixed": TenantLimits(requests_per_minute=3, concurrent_requests=1),
        "all": TenantLimits(requests_per_minute=3, tokens_per_minute=100, concurrent_requests=2),
    }
)


class Replicas:
    """The limiters of one test, all on the same state; `open(replica)` is that replica's limiter."""

    def __init__(
        self, clock: FakeClock, store: PostgresStore | None = None, file: Path | None = None
    ) -> None:
        self.clock = clock
        self.store = store
        self.file = file
        self.opened: list[Limiter] = []

    @property
    def separate(self) -> bool:
        """Whether each replica has a limiter of its own (else they are one process's)."""
        return self.store is not None or self.file is not None

    async def open(self, replica: str) -> Limiter:
        limiter: Limiter
        if self.store is not None:
            limiter = await PostgresRateLimiter.open(
                self.store, SETTINGS, self.clock, replica=replica, lease_s=LEASE_S
            )
        elif self.file is not None:
            limiter = await SqliteRateLimiter.open(
                self.file, SETTINGS, self.clock, replica=replica, lease_s=LEASE_S
            )
        elif self.opened:
            return self.opened[0]
        else:
            limiter = MemoryRateLimiter(SETTINGS, self.clock)
        self.opened.append(limiter)
        return limiter

    async def slot_holders(self) -> list[str]:
        """The replicas with rows of requests in flight (expired or not), in order."""
        query = "SELECT DISTINCT replica FROM ratelimit_in_flight ORDER BY replica"
        if self.store is not None:
            return [r["replica"] for r in await self.store.pool.fetch(query)]
        assert self.file is not None
        with contextlib.closing(sqlite3.connect(self.file)) as raw:
            return [replica for (replica,) in raw.execute(query)]

    async def break_backend(self) -> None:
        """Make every later round trip to the shared state fail."""
        if self.store is not None:
            await self.store.close()
        elif self.file is not None:
            with contextlib.closing(sqlite3.connect(self.file, isolation_level=None)) as raw:
                raw.execute("DROP TABLE ratelimit_buckets")
                raw.execute("DROP TABLE ratelimit_in_flight")

    async def close(self) -> None:
        for limiter in self.opened:
            await limiter.close()
        if self.store is not None:
            await self.store.close()


async def _on_postgres(request: pytest.FixtureRequest) -> AsyncIterator[Replicas]:
    admin: str = request.getfixturevalue("postgres_admin_dsn")
    dsn = await create_database(admin)
    replicas = Replicas(FakeClock(T0), await PostgresStore.open(dsn))
    yield replicas
    await replicas.close()
    await drop_database(admin, dsn)


async def _on_sqlite(tmp_path: Path) -> AsyncIterator[Replicas]:
    replicas = Replicas(FakeClock(T0), file=tmp_path / "data" / "rejoinder.db")
    yield replicas
    await replicas.close()


async def _backend(request: pytest.FixtureRequest, name: str) -> AsyncIterator[Replicas]:
    if name == "postgres":
        async for shared in _on_postgres(request):
            yield shared
        return
    tmp_path: Path = request.getfixturevalue("tmp_path")
    async for shared in _on_sqlite(tmp_path):
        yield shared


@pytest.fixture(params=["memory", "postgres", "sqlite"])
async def replicas(request: pytest.FixtureRequest) -> AsyncIterator[Replicas]:
    """Limiters of every backend (in memory, all replicas are one process's)."""
    if request.param == "memory":
        replicas = Replicas(FakeClock(T0))
        yield replicas
        await replicas.close()
        return
    async for shared in _backend(request, request.param):
        yield shared


@pytest.fixture(params=["postgres", "sqlite"])
async def processes(request: pytest.FixtureRequest) -> AsyncIterator[Replicas]:
    """Limiters of separate processes on one database: crashes, renewals, later writes."""
    async for shared in _backend(request, request.param):
        yield shared


@pytest.fixture
async def postgres_processes(request: pytest.FixtureRequest) -> AsyncIterator[Replicas]:
    """Limiters of separate processes on one PostgreSQL database: its connections and functions."""
    async for shared in _on_postgres(request):
        yield shared


async def refused(limiter: Limiter, tenant: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await limiter.admit(tenant)
    return caught.value


async def outcome(limiter: Limiter, tenant: str) -> Admission | ApiError:
    try:
        return await limiter.admit(tenant)
    except ApiError as err:
        return err


async def test_requests_per_minute_are_one_quota_for_all_replicas(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    await a.admit("rpm3")
    await b.admit("rpm3")
    await a.admit("rpm3")
    assert (await refused(b, "rpm3")).retry_after == "60"
    assert (await refused(a, "rpm3")).error_type == "requests"
    replicas.clock.advance(60)  # all three expire together
    assert (await b.admit("rpm3")).headers[1] == ("x-ratelimit-remaining-requests", "2")


async def test_simultaneous_admissions_never_exceed_the_limit(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    results = await asyncio.gather(*(outcome(a if n % 2 else b, "rpm5") for n in range(20)))
    admitted = [r for r in results if isinstance(r, Admission)]
    assert len(admitted) == 5
    remaining = sorted(dict(r.headers)["x-ratelimit-remaining-requests"] for r in admitted)
    assert remaining == ["0", "1", "2", "3", "4"]
    refusals = [r for r in results if isinstance(r, ApiError)]
    assert [r.code for r in refusals] == ["rate_limit_exceeded"] * 15


async def test_concurrency_is_shared_and_released_at_finish(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    first = await a.admit("conc2")
    await b.admit("conc2")
    err = await refused(a, "conc2")
    assert err.message == "Too many concurrent requests: limit 2, in flight 2. Please try again in 1s."
    assert (err.retry_after, err.headers) == ("1", ())
    await refused(b, "conc2")
    first.finish(0)
    first.finish(0)
    await a.flush()
    assert (await b.admit("conc2")).headers == ()
    await refused(a, "conc2")


async def test_tokens_finished_on_one_replica_count_on_the_others(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    admission = await a.admit("tpm100")
    assert (await b.admit("tpm100")).headers[1] == ("x-ratelimit-remaining-tokens", "100")
    replicas.clock.advance(10)
    admission.finish(100)
    await a.flush()
    replicas.clock.advance(5)
    err = await refused(b, "tpm100")
    assert err.message == (
        "Rate limit reached for tokens per min (TPM): Limit 100, Used 100, Requested 0. "
        "Please try again in 55s."
    )
    assert (err.error_type, err.retry_after) == ("tokens", "55")
    replicas.clock.advance(55)
    assert dict((await b.admit("tpm100")).headers)["x-ratelimit-remaining-tokens"] == "100"


async def test_every_backend_writes_the_same_headers(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    first = await a.admit("all")
    assert first.headers == (
        ("x-ratelimit-limit-requests", "3"),
        ("x-ratelimit-remaining-requests", "2"),
        ("x-ratelimit-reset-requests", "1m0s"),
        ("x-ratelimit-limit-tokens", "100"),
        ("x-ratelimit-remaining-tokens", "100"),
        ("x-ratelimit-reset-tokens", "0s"),
    )
    replicas.clock.advance(0.5)
    first.finish(60)
    await a.flush()
    second = await b.admit("all")
    assert second.headers == (
        ("x-ratelimit-limit-requests", "3"),
        ("x-ratelimit-remaining-requests", "1"),
        ("x-ratelimit-reset-requests", "1m0.5s"),
        ("x-ratelimit-limit-tokens", "100"),
        ("x-ratelimit-remaining-tokens", "40"),
        ("x-ratelimit-reset-tokens", "1m0.5s"),
    )
    await a.admit("all")
    err = await refused(b, "all")
    assert err.message == (
        "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. "
        "Please try again in 1m0s."
    )
    assert err.retry_after == "60"
    assert dict(err.headers)["x-ratelimit-remaining-requests"] == "0"


async def test_a_refused_request_consumes_nothing(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    held = await a.admit("mixed")
    for limiter in (a, b, a, b):
        assert (await refused(limiter, "mixed")).message.startswith("Too many concurrent requests: limit 1")
    held.finish(0)
    await a.flush()
    assert dict((await b.admit("mixed")).headers)["x-ratelimit-remaining-requests"] == "1"


async def test_each_tenant_has_its_own_quota(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    for _ in range(3):
        await a.admit("rpm3")
    await refused(b, "rpm3")
    assert dict((await b.admit("rpm5")).headers)["x-ratelimit-remaining-requests"] == "4"
    assert dict((await a.admit("all")).headers)["x-ratelimit-remaining-requests"] == "2"


async def test_a_tenant_without_limits_needs_no_store(replicas: Replicas) -> None:
    a = await replicas.open("a")
    await replicas.break_backend()  # a round trip would now fail
    admission = await a.admit("anyone")
    assert admission.headers == ()
    admission.finish(10_000)
    await a.flush()


async def test_the_window_slides_by_the_second(replicas: Replicas) -> None:
    a, b = await replicas.open("a"), await replicas.open("b")
    replicas.clock.advance(0.3)
    await a.admit("rpm3")  # counts until T0 + 61
    replicas.clock.advance(29.7)
    await b.admit("rpm3")
    await a.admit("rpm3")  # these two count until T0 + 90
    replicas.clock.advance(30.999)
    assert (await refused(b, "rpm3")).retry_after == "1"
    replicas.clock.advance(T0 + 61 - replicas.clock.now())
    assert dict((await b.admit("rpm3")).headers)["x-ratelimit-reset-requests"] == "1m0s"
    err = await refused(a, "rpm3")
    assert (err.retry_after, dict(err.headers)["x-ratelimit-reset-requests"]) == ("29", "1m0s")


async def test_a_crashed_replicas_slots_stop_counting_after_the_lease(processes: Replicas) -> None:
    replicas = processes
    crashed, b = await replicas.open("crashed"), await replicas.open("b")
    await crashed.admit("conc2")
    await crashed.admit("conc2")  # never finished: the replica "crashes" and renews nothing
    replicas.clock.advance(LEASE_S - 0.001)
    await refused(b, "conc2")
    replicas.clock.advance(0.001)
    await b.admit("conc2")
    await b.admit("conc2")
    assert "limit 2, in flight 2" in (await refused(b, "conc2")).message


async def test_a_live_replica_keeps_its_slots_by_renewing_them(processes: Replicas) -> None:
    replicas = processes
    a, b = await replicas.open("a"), await replicas.open("b")
    await a.admit("conc2")
    await a.admit("conc2")
    replicas.clock.advance(LEASE_S - 1)
    assert not isinstance(a, MemoryRateLimiter)
    await a.renew()
    replicas.clock.advance(LEASE_S - 1)
    await refused(b, "conc2")
    replicas.clock.advance(1)
    await b.admit("conc2")


async def test_renewals_delete_the_rows_of_replicas_gone_for_a_lease(processes: Replicas) -> None:
    replicas = processes
    a, b = await replicas.open("a"), await replicas.open("b")
    await a.admit("conc2")
    await b.admit("conc2")
    replicas.clock.advance(2 * LEASE_S - 1)
    assert not isinstance(b, MemoryRateLimiter)
    await b.renew()
    assert await replicas.slot_holders() == ["a", "b"]
    replicas.clock.advance(1)
    await b.renew()
    assert await replicas.slot_holders() == ["b"]


async def test_a_restarted_replica_drops_its_previous_process_slots(processes: Replicas) -> None:
    replicas = processes
    before = await replicas.open("a")
    await before.admit("conc2")
    await before.admit("conc2")
    after = await replicas.open("a")  # the same replica id, a new process
    await after.admit("conc2")


async def test_close_writes_what_is_pending_and_releases_the_slots(processes: Replicas) -> None:
    replicas = processes
    a, b = await replicas.open("a"), await replicas.open("b")
    finished = await a.admit("all")
    await a.admit("all")  # unfinished when `a` closes
    finished.finish(100)
    await a.close()
    err = await refused(b, "all")
    assert (err.error_type, dict(err.headers)["x-ratelimit-remaining-requests"]) == ("tokens", "1")
    replicas.clock.advance(60)
    await b.admit("all")
    await b.admit("all")  # both of a's slots were released


async def test_a_finish_after_close_is_logged(processes: Replicas, caplog: pytest.LogCaptureFixture) -> None:
    replicas = processes
    a = await replicas.open("a")
    admission = await a.admit("tpm100")
    await a.close()
    with caplog.at_level(logging.WARNING, logger="rejoinder.ratelimit"):
        admission.finish(5)
    assert "ended after the rate limiter closed" in caplog.text


async def test_a_connection_the_database_dropped_is_replaced(postgres_processes: Replicas) -> None:
    replicas = postgres_processes
    assert replicas.store is not None
    a = await replicas.open("a")
    await a.admit("rpm5")
    kill = """
    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
    """
    assert await replicas.store.pool.fetchval(kill) >= 1
    await asyncio.sleep(0.5)  # the client sees the connection end
    assert dict((await a.admit("rpm5")).headers)["x-ratelimit-remaining-requests"] == "3"


async def test_finishes_that_fail_to_be_written_are_kept_for_the_next_try(
    postgres_processes: Replicas,
) -> None:
    replicas = postgres_processes
    assert replicas.store is not None
    a, b = await replicas.open("a"), await replicas.open("b")
    assert isinstance(a, PostgresRateLimiter)
    admission = await a.admit("all")
    pool = replicas.store.pool
    await pool.execute("ALTER FUNCTION rejoinder_ratelimit_finish RENAME TO finish_away")
    admission.finish(100)
    with pytest.raises(Exception, match="does not exist"):
        await a.flush()
    await pool.execute("ALTER FUNCTION finish_away RENAME TO rejoinder_ratelimit_finish")
    await a.flush()
    err = await refused(b, "all")
    assert (err.error_type, dict(err.headers)["x-ratelimit-remaining-tokens"]) == ("tokens", "0")
