"""Work in steps gives the event loop a turn once the budget is spent, and only then."""

from __future__ import annotations

import asyncio
import time

from rejoinder.pacing import BUDGET_S, Steps, begin, each, resumed, run_paced, run_sync


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


async def _yields_after_a_wait(*, resume: bool) -> bool:
    """Whether quick paced work after a wait longer than the budget gives the loop a turn."""
    await run_paced(_busy_steps(1, 0))  # starts this task's clock
    await asyncio.sleep(2 * BUDGET_S)  # a real wait (say, for the upstream's bytes)
    if resume:
        resumed()
    turned: list[int] = []
    asyncio.get_running_loop().call_soon(turned.append, 1)  # runs only if the work yields
    await run_paced(_busy_steps(1, 0))
    return bool(turned)


async def test_work_after_a_wait_has_a_fresh_budget_once_resumed_is_said() -> None:
    assert await _yields_after_a_wait(resume=False), "without resumed() the budget looks spent"
    assert not await _yields_after_a_wait(resume=True)


async def test_a_call_that_begins_has_a_fresh_budget_whatever_clock_its_task_was_made_with() -> None:
    await run_paced(_busy_steps(1, 0))  # this task's clock starts ...
    await asyncio.sleep(2 * BUDGET_S)  # ... and is long spent

    async def call(*, begins: bool) -> bool:
        """Whether the call's first quick paced work gives the loop a turn."""
        if begins:
            begin()
        turned: list[int] = []
        asyncio.get_running_loop().call_soon(turned.append, 1)
        await run_paced(_busy_steps(1, 0))
        return bool(turned)

    assert await asyncio.ensure_future(call(begins=False)), "a task made by another copies its clock"
    assert not await asyncio.ensure_future(call(begins=True)), "begin() did not start a clock of its own"
