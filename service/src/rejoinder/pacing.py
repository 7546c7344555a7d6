"""Work that grows with a request gives the event loop back every couple of milliseconds.

One process serves every call on one event loop, so a request with 10,000 items must not hold it for the
whole of its validation, context assembly or upstream encoding: the calls beside it would wait that long.
Loops over a request's items call `pace()` (async code) or are written as *steps* — generators that
`yield` between items — and run by `run_paced` (async callers) or `run_sync` (tests, small inputs).
`pace()` and each step cost a clock read; it yields (`asyncio.sleep(0)`) only once the current task has run
`BUDGET_S` since it last yielded, so small requests never yield at all.

The time of the last yield (or of the last resumption after a wait: `resumed`) is a context variable, so no
state is shared between calls. A task made by another starts with a copy of its maker's clock; every RPC
starts a clock of its own (`begin`, said by `api.calls` as the call opens), not one inherited from the
server's start-up. The clock is not keyed by task: `asyncio.current_task()` costs a `getpid` system call
on Python 3.11, and pacing looks at its clock about ten times a request.
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

_since: ContextVar[float] = ContextVar("rejoinder_pace_since", default=0.0)
"""When the current call last yielded or resumed; 0.0 until its first paced work looks."""


def begin() -> None:
    """A call opens: its first paced work starts its clock (whatever clock the task was made with)."""
    _since.set(0.0)


async def pace() -> None:
    """Yield to the event loop when this task has run for `BUDGET_S` since it last did."""
    now = time.perf_counter()
    since = _since.get()
    if now - since < BUDGET_S:
        return
    if since:  # the first look only starts the clock
        await asyncio.sleep(0)
        now = time.perf_counter()
    _since.set(now)


def resumed() -> None:
    """The current task just resumed after a real wait (the loop ran other work meanwhile): its budget
    starts again now. Called after the waits a request makes (the upstream's bytes, the store), so the
    paced work after them does not yield again at once."""
    _since.set(time.perf_counter())


def _started() -> float:
    """When this task last yielded; the clock starts now when it has not looked yet (no await: a
    request's first paced work costs no coroutine)."""
    since = _since.get()
    if not since:
        since = time.perf_counter()
        _since.set(since)
    return since


async def each(items: Iterable[T]) -> AsyncIterator[T]:
    """`items`, with a turn for the loop whenever the budget is spent."""
    due = _started() + BUDGET_S
    for item in items:
        yield item
        if time.perf_counter() >= due:
            await pace()
            due = _since.get() + BUDGET_S


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
            due = _since.get() + BUDGET_S
