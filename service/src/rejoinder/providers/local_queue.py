"""A fair, bounded admission queue for one model instance: one holder at a time, waiters served FIFO.

A request that finds `max_waiting` others already waiting is refused at once with an `UpstreamError`
(HTTP 503 with `Retry-After`), so a busy local model sheds load instead of piling up requests.
"""

from __future__ import annotations

import asyncio
from collections import deque

from rejoinder.providers.base import UpstreamError


class SlotQueue:
    """One slot. `acquire` takes it or waits in line; `release` hands it to the next waiter.

    Must be used from one event loop. Call `release` exactly once for every successful `acquire`.
    """

    def __init__(self, max_waiting: int, retry_after_s: int) -> None:
        if max_waiting < 0:
            raise ValueError("max_waiting must be >= 0")
        self._max_waiting = max_waiting
        self._retry_after = str(max(1, retry_after_s))
        self._busy = False
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def busy(self) -> bool:
        """Whether the slot is held."""
        return self._busy

    @property
    def waiting(self) -> int:
        """How many requests wait for the slot."""
        return sum(1 for w in self._waiters if not w.done())

    async def acquire(self) -> None:
        """Take the slot, waiting in FIFO order. Raises `UpstreamError` (503) when the line is full."""
        if not self._busy and not self._waiters:
            self._busy = True
            return
        if self.waiting >= self._max_waiting:
            raise UpstreamError(
                "status",
                f"the local model is busy ({self.waiting} requests waiting); retry later",
                status=503,
                retry_after=self._retry_after,
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just as we gave up: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give the slot to the first live waiter, or free it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._busy = False
