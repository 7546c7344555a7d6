"""Work in steps gives the event loop a turn once the budget is spent, and only then."""

from __future__ import annotations

import asyncio
import time

from rejoinder.pacing import BUDGET_S, Steps, each, run_paced, run_sync


def _busy_steps(n: int, step_s: float) -> Steps[int]:
    for _ in range(n):
        end = time.perf_counter() + step_s
        while time.perf_counter() < end:
            pass
        yield
    return n


async def _ticks_while(work: asyncio.Future[object]) -> int:
    ticks = 0
    while not work.done():
        ticks += 1
        await asyncio.sleep(0)
    return ticks


async def test_long_steps_let_other_tasks_run_every_budget() -> None:
    steps = 40
    work = asyncio.ensure_future(run_paced(_busy_steps(steps, BUDGET_S / 2)))
    ticks = await _ticks_while(work)
    assert work.result() == steps
    assert ticks >= steps // 4  # a turn about every two steps (each half the budget)


async def test_quick_steps_never_yield() -> None:
    work = asyncio.ensure_future(run_paced(_busy_steps(100, 0)))
    await asyncio.sleep(0)  # the work starts
    assert work.done() and work.result() == 100  # no turn was given: it ran through at once


async def test_each_gives_turns_over_a_long_iteration() -> None:
    async def walk() -> int:
        seen = 0
        async for _ in each(range(2000)):
            end = time.perf_counter() + BUDGET_S / 20
            while time.perf_counter() < end:
                pass
            seen += 1
        return seen

    work = asyncio.ensure_future(walk())
    assert await _ticks_while(work) > 10 and work.result() == 2000


def test_run_sync_returns_the_result() -> None:
    assert run_sync(_busy_steps(3, 0)) == 3
