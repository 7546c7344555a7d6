"""`Finishes`: a shared limiter's pending finishes, batched, kept when a write fails, written at close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from rejoinder.config_limits import TenantLimits
from rejoinder.ratelimit import finishes as finishes_module
from rejoinder.ratelimit.finishes import Charge, Finishes, Release
from rejoinder.ratelimit.window import bucket
from tests.fakes import FakeClock

T0 = 1_700_000_000.0
ALL = TenantLimits(None, 1000, 5)  # tokens per minute and concurrency: a finish charges and releases
LEASE_S = 60.0


class Backend:
    """Records each write and renewal; `fail` makes the next writes raise, `gate` holds them."""

    def __init__(self) -> None:
        self.writes: list[tuple[list[Charge], list[Release]]] = []
        self.renewals = 0
        self.fail = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.written = asyncio.Event()
        self.stopped = False
        self._running: set[asyncio.Task[None]] = set()

    def write_on_thread(self, charges: list[Charge], releases: list[Release]) -> asyncio.Future[None]:
        """A write that cannot be stopped once queued, as on a thread: cancelling its future does not
        stop it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def run() -> None:
            await self.write(charges, releases)
            if not done.done():
                done.set_result(None)

        task = asyncio.create_task(run())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return done

    async def write(self, charges: list[Charge], releases: list[Release]) -> None:
        self.started.set()
        if self.gate is not None:
            try:
                await self.gate.wait()
            except asyncio.CancelledError:
                self.stopped = True
                raise
        if self.fail:
            self.fail -= 1
            raise OSError("the database is away")
        self.writes.append((sorted(charges), sorted(releases)))
        self.written.set()

    async def renew(self) -> None:
        self.renewals += 1


Make = Callable[..., Finishes]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[Finishes] = []

    def build(backend: Backend, *, lease_s: float = LEASE_S, on_thread: bool = False) -> Finishes:
        write = backend.write_on_thread if on_thread else backend.write
        finishes = Finishes(FakeClock(T0), lease_s, write, backend.renew, shield_writes=on_thread)
        made.append(finishes)
        return finishes

    yield build
    for finishes in made:
        await finishes.close()


def finish(finishes: Finishes, tenant: str, tokens: int, limits: TenantLimits = ALL) -> None:
    on_finish = finishes.on_finish(tenant, limits)
    assert on_finish is not None
    on_finish(tokens)


async def test_finishes_so_far_are_written_in_one_go(make: Make) -> None:
    backend = Backend()
    finishes = make(backend)
    finish(finishes, "a", 10)
    finish(finishes, "a", 5)
    finish(finishes, "b", 0)  # no tokens: only its slot is released
    await finishes.flush()
    assert backend.writes == [([("a", bucket(T0), 15)], [("a", 2), ("b", 1)])]
    await finishes.flush()  # nothing pending: no write
    assert len(backend.writes) == 1


async def test_a_limit_without_tokens_or_slots_has_nothing_to_finish(make: Make) -> None:
    finishes = make(Backend())
    assert finishes.on_finish("a", TenantLimits(10, None, None)) is None
    only_tokens = finishes.on_finish("a", TenantLimits(None, 10, None))
    assert only_tokens is not None
    only_tokens(3)
    await finishes.flush()


async def test_the_background_task_writes_without_being_asked(make: Make) -> None:
    backend = Backend()
    finishes = make(backend)
    finish(finishes, "a", 7)
    await asyncio.wait_for(backend.written.wait(), 5)
    assert backend.writes == [([("a", bucket(T0), 7)], [("a", 1)])]


async def test_a_failed_write_is_kept_and_merged_into_the_next(make: Make) -> None:
    backend = Backend()
    finishes = make(backend)
    backend.fail = 1
    finish(finishes, "a", 10)
    with pytest.raises(OSError, match="away"):
        await finishes.flush()
    finish(finishes, "a", 1)
    await finishes.flush()
    assert backend.writes == [([("a", bucket(T0), 11)], [("a", 2)])]


async def test_the_background_task_retries_a_failed_write(
    make: Make, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(finishes_module, "RETRY_S", 0.01)
    backend = Backend()
    finishes = make(backend)
    backend.fail = 1
    finish(finishes, "a", 4)
    await asyncio.wait_for(backend.written.wait(), 5)
    assert backend.writes == [([("a", bucket(T0), 4)], [("a", 1)])]
    assert "writing finished responses (will retry) failed" in caplog.text


async def test_slots_are_renewed_every_third_of_a_lease(make: Make) -> None:
    backend = Backend()
    make(backend, lease_s=0.03)
    await asyncio.sleep(0.1)
    assert backend.renewals >= 2


@pytest.mark.parametrize("on_thread", [False, True])
async def test_a_flush_cancelled_while_it_writes(make: Make, on_thread: bool) -> None:
    """A write that can be stopped is stopped, and what it held is kept (the task writes it later); one
    on a thread is shielded: it goes on to its end and nothing is kept. Either way it is written once."""
    backend = Backend()
    finishes = make(backend, on_thread=on_thread)
    backend.gate = asyncio.Event()

    async def finish_and_flush() -> None:
        finish(finishes, "a", 3)
        await finishes.flush()  # takes the lock before the woken task can

    flush = asyncio.create_task(finish_and_flush())
    await asyncio.wait_for(backend.started.wait(), 5)
    flush.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flush
    assert backend.stopped is not on_thread
    backend.gate.set()
    await asyncio.wait_for(backend.written.wait(), 5)
    await asyncio.sleep(0.05)  # a write kept by mistake would be written again by now
    await finishes.flush()
    assert backend.writes == [([("a", bucket(T0), 3)], [("a", 1)])]


async def test_close_writes_what_is_left_then_runs_its_steps(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    backend = Backend()
    finishes = make(backend)
    done: list[str] = []

    async def step(name: str) -> None:
        done.append(name)
        if name == "release":
            raise OSError("gone")

    finish(finishes, "a", 2)
    await finishes.close(
        (lambda: step("release"), "releasing"), (lambda: step("disconnect"), "disconnecting")
    )
    assert finishes.closed
    assert backend.writes == [([("a", bucket(T0), 2)], [("a", 1)])]
    assert done == ["release", "disconnect"]  # a failed step is logged, the next one still runs
    assert "rate limiter: releasing failed" in caplog.text
    with caplog.at_level(logging.WARNING, logger="rejoinder.ratelimit"):
        finish(finishes, "a", 9)
    assert "ended after the rate limiter closed" in caplog.text
    await finishes.close()  # a second close does nothing
    assert len(backend.writes) == 1
