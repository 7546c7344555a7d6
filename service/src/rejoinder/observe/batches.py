"""What a call reports as it ends (its access line, its metrics), told in batches.

Told one by one, between two requests, that code runs cold in the CPU's caches: a non-stream create's
access line and metrics cost it about 40 us of CPU that way, against a few us each in a batch
(bench/README.md). So they wait, at most `FLUSH_S`, and are told together, in the order they came, in
slices of `SLICE` (or a quarter of what waits, when more do), `SLICE_GAP_S` apart: a request that comes
meanwhile waits for one slice, not for the whole batch. (Told at once, 0.1 s of calls at c=1 raised a
non-stream create's p99 latency from 1.23 to 2.26 ms over typed gRPC; in slices on the loop's next
turns, which the requests' own steps then wait behind, to 1.62 ms; in slices 1 ms apart it stays at
1.23 ms: `python -m bench --only nonstream`.)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

FLUSH_S = 0.1
"""The longest what a call reports waits to be told (its access line, its metrics)."""

SLICE = 16
"""The items told together (more when more than four slices wait)."""

SLICE_GAP_S = 0.001
"""The time between two slices of a batch."""

STALE_S = 1.0
"""How late a flush may be before it is taken for lost (its event loop closed) and set again."""


class Batches(Generic[T]):
    """Items told to `tell` in batches: at most `wait_s` after the first of a batch came (on the running
    event loop, a slice at a time), at once when no loop runs, and whenever `flush` is called, from any
    thread (all of them, at once)."""

    def __init__(self, tell: Callable[[list[T]], None], wait_s: float) -> None:
        self._tell = tell
        self._wait_s = wait_s
        self._waiting: deque[T] = deque()
        self._telling = threading.Lock()
        self._due_by: float | None = None  # when the flush set for the waiting items is due, at the latest

    def add(self, item: T) -> None:
        """Tell `item` with the next batch."""
        self._waiting.append(item)
        due_by = self._due_by
        if due_by is not None and time.monotonic() < due_by:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # nothing would flush it later
            self.flush()
            return
        self._due_by = time.monotonic() + self._wait_s + STALE_S
        loop.call_later(self._wait_s, self._due, loop)

    def _due(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tell a slice; the rest `SLICE_GAP_S` later."""
        self._tell_some(max(SLICE, len(self._waiting) // 4))
        if self._waiting:
            loop.call_later(SLICE_GAP_S, self._due, loop)
        else:
            self._due_by = None

    def flush(self) -> None:
        """Tell what waits, now."""
        self._tell_some(None)

    def _tell_some(self, most: int | None) -> None:
        with self._telling:  # one batch at a time: they are told in order
            batch: list[T] = []
            while self._waiting and (most is None or len(batch) < most):
                batch.append(self._waiting.popleft())
            if batch:
                self._tell(batch)
