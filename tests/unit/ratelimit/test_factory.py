"""Which limiter a server gets, and what it announces: worker processes on one SQLite file share one
quota; an in-memory store counts in memory; without limits nothing is counted anywhere."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.errors import ApiError
from rejoinder.ratelimit.base import RateLimiter
from rejoinder.ratelimit.factory import describe, open_limiter
from rejoinder.store.sqlite import SqliteStore
from tests.fakes import FakeClock

LIMITED = RateLimitSettings(
    default=TenantLimits(requests_per_minute=1), tenants={"vip": TenantLimits(requests_per_minute=2)}
)


@pytest.fixture
async def stores() -> AsyncIterator[list[SqliteStore]]:
    opened: list[SqliteStore] = []
    yield opened
    for store in opened:
        await store.close()


async def limiter(settings: RateLimitSettings, store: SqliteStore, replica: str) -> RateLimiter:
    return await open_limiter(settings, store, FakeClock(), replica=replica, lease_s=15.0)


async def test_workers_on_one_sqlite_file_share_one_quota(tmp_path: Path, stores: list[SqliteStore]) -> None:
    file = tmp_path / "rejoinder.db"
    stores.extend([await SqliteStore.open(file), await SqliteStore.open(file)])  # two worker processes
    assert stores[0].path == file
    first, second = [await limiter(LIMITED, store, f"worker-{n}") for n, store in enumerate(stores)]
    try:
        await first.admit("t")
        with pytest.raises(ApiError, match="Limit 1, Used 1"):
            await second.admit("t")
    finally:
        await first.close()
        await second.close()
    assert describe(LIMITED, stores[0]) == (
        "rate limits shared by every worker on this SQLite database, 1 tenant with their own"
    )


async def test_an_in_memory_sqlite_store_counts_in_memory(stores: list[SqliteStore]) -> None:
    stores.append(await SqliteStore.open(":memory:"))
    assert stores[0].path is None
    limits = await limiter(LIMITED, stores[0], "r")
    await limits.admit("t")
    with pytest.raises(ApiError, match="Limit 1, Used 1"):
        await limits.admit("t")
    await limits.close()
    assert describe(LIMITED, stores[0]) == "rate limits in memory, 1 tenant with their own"


async def test_without_limits_the_limiter_tables_are_never_touched(
    tmp_path: Path, stores: list[SqliteStore]
) -> None:
    file = tmp_path / "rejoinder.db"
    stores.append(await SqliteStore.open(file))
    with contextlib.closing(sqlite3.connect(file, isolation_level=None)) as raw:
        raw.execute("DROP TABLE ratelimit_buckets")  # any statement on them would now fail
        raw.execute("DROP TABLE ratelimit_in_flight")
    limits = await limiter(RateLimitSettings(), stores[0], "r")
    for _ in range(3):
        admission = await limits.admit("t")
        assert admission.headers == ()
        admission.finish(1_000)
    await limits.close()
    assert describe(RateLimitSettings(), stores[0]) == "no rate limits"
