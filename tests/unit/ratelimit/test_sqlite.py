"""The SQLite limiter across processes: worker processes on one file grant one quota together, a killed
worker's slots stop counting after its lease, and an admission or a write that cannot get the database
loses nothing. (Its single-limiter behaviour is in `test_memory.py`; sharing between limiters with a
fake clock in `tests/store/test_ratelimit_suite.py`.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.clock import SystemClock
from rejoinder.errors import ApiError
from rejoinder.ratelimit.sqlite import SqliteRateLimiter
from tests.fakes import FakeClock
from tests.unit.ratelimit import sqlite_worker

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000.0


def settings(**limits: int) -> RateLimitSettings:
    return RateLimitSettings(tenants={"t": TenantLimits(**limits)})


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "rejoinder.db"


@pytest.fixture
async def opened() -> AsyncIterator[list[SqliteRateLimiter]]:
    """Limiters to close at the end of the test."""
    limiters: list[SqliteRateLimiter] = []
    yield limiters
    for limiter in limiters:
        await limiter.close()


@contextlib.contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another process's transaction holds the database's write lock for the block."""
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")
        yield
        raw.execute("COMMIT")
    finally:
        raw.close()


async def worker(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.unit.ratelimit.sqlite_worker",
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()


async def test_two_worker_processes_admit_exactly_the_limit_together(path: Path) -> None:
    limit = sqlite_worker.LIMIT
    procs = [await worker("admit", str(path), f"worker-{n}", str(limit)) for n in range(2)]
    try:
        assert [await line(p) for p in procs] == ["ready", "ready"]
        for proc in procs:  # both start at once
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        results = [json.loads(await line(p)) for p in procs]
        assert [await asyncio.wait_for(p.wait(), 60) for p in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    remaining = sorted(n for r in results for n in r["remaining"])
    assert remaining == list(range(limit))  # each admission saw every one before it, in both processes
    assert sum(r["refused"] for r in results) == limit
    latecomer = await SqliteRateLimiter.open(
        path, settings(requests_per_minute=limit), SystemClock(), replica="c"
    )
    try:
        with pytest.raises(ApiError, match=f"Limit {limit}, Used {limit}, Requested 1"):
            await latecomer.admit("t")
    finally:
        await latecomer.close()


async def test_a_killed_workers_slots_stop_counting_after_its_lease(
    path: Path, opened: list[SqliteRateLimiter]
) -> None:
    lease_s = 3.0
    proc = await worker("hold", str(path), "crashed", str(lease_s))
    try:
        assert await line(proc) == "held"
        survivor = await SqliteRateLimiter.open(
            path, settings(concurrent_requests=2), SystemClock(), replica="survivor", lease_s=lease_s
        )
        opened.append(survivor)
        with pytest.raises(ApiError, match="limit 2, in flight 2"):
            await survivor.admit("t")  # the live worker renews its slots
    finally:
        proc.kill()  # SIGKILL: nothing is written, nothing released
        await proc.wait()
    # Its slots expire at most a lease after the kill (renewed until then); a survivor's renewal would
    # delete them only after two leases.
    deadline = time.monotonic() + 1.5 * lease_s
    while True:
        try:
            await survivor.admit("t")
            break
        except ApiError:
            assert time.monotonic() < deadline, "the killed worker's slots still count"
            await asyncio.sleep(0.05)
    await survivor.admit("t")
    with pytest.raises(ApiError, match="limit 2, in flight 2"):
        await survivor.admit("t")  # only the survivor's own two count now


async def test_an_admission_whose_caller_went_away_releases_its_slot(
    path: Path, opened: list[SqliteRateLimiter]
) -> None:
    limiter = await SqliteRateLimiter.open(path, settings(concurrent_requests=1), FakeClock(T0), replica="a")
    opened.append(limiter)
    with write_locked(path):
        waiting = asyncio.create_task(limiter.admit("t"))
        await asyncio.sleep(0.05)  # its transaction waits for the lock
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    with pytest.raises(ApiError, match="in flight 1"):
        await limiter.admit("t")  # the cancelled admission was granted once the lock was free...
    await limiter.flush()
    admission = await limiter.admit("t")  # ...and then finished, as nobody holds it
    assert admission.headers == ()


async def test_an_admission_that_cannot_get_the_database_fails_and_takes_nothing(
    path: Path, opened: list[SqliteRateLimiter]
) -> None:
    limiter = await SqliteRateLimiter.open(
        path, settings(requests_per_minute=1), FakeClock(T0), replica="a", busy_timeout_s=0.05
    )
    opened.append(limiter)
    with write_locked(path), pytest.raises(sqlite3.OperationalError, match="locked"):
        await limiter.admit("t")
    admission = await limiter.admit("t")
    assert dict(admission.headers)["x-ratelimit-remaining-requests"] == "0"


async def test_finishes_that_fail_to_be_written_are_kept_for_the_next_try(
    path: Path, opened: list[SqliteRateLimiter]
) -> None:
    clock = FakeClock(T0)
    a = await SqliteRateLimiter.open(
        path, settings(tokens_per_minute=100), clock, replica="a", busy_timeout_s=0.05
    )
    b = await SqliteRateLimiter.open(path, settings(tokens_per_minute=100), clock, replica="b")
    opened.extend((a, b))
    admission = await a.admit("t")
    with write_locked(path):
        admission.finish(100)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await a.flush()
    await a.flush()
    with pytest.raises(ApiError, match=r"tokens per min \(TPM\): Limit 100, Used 100"):
        await b.admit("t")
