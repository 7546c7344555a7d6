"""Work that grows with a request gives the event loop back every couple of milliseconds.

One process serves every call on one event loop, so a request with 10,000 items must not hold it for the
whole of its validation, context assembly or upstream encoding: the calls beside it would wait that long.
Loops over a request's items call `pace()` (async code) or are written as *steps* — generators that
`yield` between items — and run by `run_paced` (async callers) or `run_sync` (tests, small inputs).
`pace()` and each step cost a clock read; it yields (`asyncio.sleep(0)`) only once the current task has run
`BUDGET_S` since it last yielded, so small requests never yield at all.

The time of the last yield (or of the last resumption after a wait: `resumed`) is kept per task (a
context variable: each task has its own copy), so no state is shared between calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Generator, Iterable
from contextvars import ContextVar
from typing import TypeVar

BUDGET_S = 0.0005
"""The longest a request's growing work runs before the loop gets a turn."""

T = TypeVar("T")
Steps = Generator[None, None, T]
"""Sync work in steps: a generator that yields between items and returns the result."""

_since: ContextVar[tuple[object, float]] = ContextVar("rejoinder_pace_since", default=(None, 0.0))
"""The task the clock is of, and when it last yielded: a task made by another inherits its context,
and so a copy of that clock, which says nothing of its own (it starts after a turn of the loop)."""


def _get() -> float:
    """When this task last yielded, or 0.0 when it has not looked yet."""
    task, since = _since.get()
    return since if task is asyncio.current_task() else 0.0


def _set(now: float) -> None:
    _since.set((asyncio.current_task(), now))


async def pace() -> None:
    """Yield to the event loop when this task has run for `BUDGET_S` since it last did."""
    now = time.perf_counter()
    since = _get()
    if now - since < BUDGET_S:
        return
    if since:  # the first look only starts the clock
        await asyncio.sleep(0)
        now = time.perf_counter()
    _set(now)


def resumed() -> None:
    """The current task just resumed after a real wait (the loop ran other work meanwhile): its budget
    starts again now. Called after the waits a request makes (the upstream's bytes, the store), so the
    paced work after them does not yield again at once."""
    _set(time.perf_counter())


def _started() -> float:
    """When this task last yielded; the clock starts now when it has not looked yet (no await: a
    request's first paced work costs no coroutine)."""
    since = _get()
    if not since:
        since = time.perf_counter()
        _set(since)
    return since


async def each(items: Iterable[T]) -> AsyncIterator[T]:
    """`items`, with a turn for the loop whenever the budget is spent."""
    due = _started() + BUDGET_S
    for item in items:
        yield item
        if time.perf_counter() >= due:
            await pace()
            due = _get() + BUDGET_S


def run_sync(steps: Steps[T]) -> T:
    """Run steps to their end at once."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


async def run_paced(steps: Steps[T]) -> T:
    """Run steps, yielding to the event loop whenever the budget is spent (a clock read per step)."""
    due = _started() + BUDGET_S
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        if time.perf_counter() >= due:
            await pace()
            due = _get() + BUDGET_S
