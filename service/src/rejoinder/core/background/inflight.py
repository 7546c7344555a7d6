"""The responses a server is making, so that a shutdown can drain them (DESIGN.md section 5).

A response is *starting* from its request until its first byte (validation, context, the upstream's
first delta) and *running* from then until its terminal event. `drain` waits up to its grace for both to
end; then a running response is interrupted (it ends `failed` in band, and is stored so: see
`Run.interrupt`) and a starting one is refused with `SHUTDOWN` (503, retry), as no byte of it was sent.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable

from rejoinder.core.background.runs import SHUTDOWN
from rejoinder.core.run.orchestrator import Run


class InFlight:
    """Starting and running responses of one server."""

    def __init__(self) -> None:
        self._runs: weakref.WeakSet[Run] = weakref.WeakSet()
        self._starting: set[asyncio.Task[object]] = set()
        self._closing = False

    async def start(self, starting: Awaitable[Run]) -> Run:
        """Await a response's start, tracked; refused with `SHUTDOWN` when the drain's grace ends first."""
        task = asyncio.current_task()
        if task is not None:
            self._starting.add(task)
        try:
            run = await starting
        except asyncio.CancelledError:
            if not self._closing or task is None:
                raise
            task.uncancel()
            raise SHUTDOWN from None
        finally:
            if task is not None:
                self._starting.discard(task)
        self._runs.add(run)
        return run

    async def drain(self, grace_s: float, finish_s: float) -> int:
        """Let what is in flight end for up to `grace_s`; then interrupt the runs, refuse the starts, and
        give them `finish_s` to tell their callers. Returns how many had to be ended."""
        await self._quiet(grace_s)
        self._closing = True
        running, starting = self._running(), list(self._starting)
        for run in running:
            run.interrupt(SHUTDOWN)
        for task in starting:
            task.cancel()
        await self._quiet(finish_s)
        return len(running) + len(starting)

    def _running(self) -> list[Run]:
        return [run for run in self._runs if not run.ended.is_set()]

    async def _quiet(self, within_s: float) -> None:
        """Until nothing is starting or running, or `within_s` passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while loop.time() < deadline:
            starting = list(self._starting)  # a call's task: done when the call is
            ended: list[asyncio.Future[object]] = [
                asyncio.ensure_future(run.ended.wait()) for run in self._running()
            ]
            if not starting and not ended:
                return
            waiting: list[asyncio.Future[object]] = [*starting]
            waiting += ended
            await asyncio.wait(waiting, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED)
            for waiter in ended:
                waiter.cancel()
