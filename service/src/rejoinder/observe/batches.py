"""What a call reports as it ends (its access line, its metrics), told in batches.

Told one by one, between two requests, that code runs cold in the CPU's caches: a non-stream create's
access line and metrics cost it about 40 us of CPU that way, against a few us each in a batch
(bench/README.md). So they wait, at most `FLUSH_S`, and are told together, in the order they came.
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

STALE_S = 1.0
"""How late a flush may be before it is taken for lost (its event loop closed) and set again."""


class Batches(Generic[T]):
    """Items told to `tell` in batches: at most `wait_s` after the first of a batch came (on the running
    event loop), at once when no loop runs, and whenever `flush` is called, from any thread."""

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
        loop.call_later(self._wait_s, self._due)

    def _due(self) -> None:
        self._due_by = None
        self.flush()

    def flush(self) -> None:
        """Tell what waits, now."""
        with self._telling:  # one batch at a time: they are told in order
            batch = []
            while self._waiting:
                batch.append(self._waiting.popleft())
            if batch:
                self._tell(batch)
