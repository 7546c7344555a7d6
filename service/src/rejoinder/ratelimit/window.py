"""The sliding window both limiters count in: a log of one-second buckets.

A request admitted at time `t` (or the tokens of a response that finished at `t`) goes into the
bucket `ceil(t)` and counts while `now < ceil(t) + 60`. That is exactly 60 s after `t` when `t`
falls on a whole second, and less than 1 s longer otherwise. Nothing stops counting early, so no
60-second span ever holds more than the limit. A fixed calendar-minute window would let twice the
limit through around a minute boundary; this window does not.

A window holds at most 61 buckets however busy the tenant is, so memory per tenant is O(1). Admitting a
request trims the expired buckets from the old end and adds to the newest one, which is O(1) amortized.
The PostgreSQL limiter keeps the same buckets as two arrays in one row per tenant, and its SQL follows
the same rules (migration 2 in `store/postgres_schema.py`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import NamedTuple

WINDOW_S = 60
"""The length of the window: the limits are per minute."""


def bucket(at: float) -> int:
    """The bucket of something counted at `at` (seconds since the epoch)."""
    return math.ceil(at)


class Usage(NamedTuple):
    """One limit of one tenant at one instant (a tuple: it is made on every admission).

    `reset_s` is the time until everything counted now has expired (OpenAI's `x-ratelimit-reset-*`).
    `wait_s` is the time until one more would be admitted, which is 0 while `used < limit`.
    """

    limit: int
    used: int
    reset_s: float
    wait_s: float

    @property
    def remaining(self) -> int:
        """What may still be used now."""
        return max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        """Nothing more is admitted now."""
        return self.used >= self.limit


def usage(limit: int, keys: Sequence[int], counts: Sequence[int], total: int, now: float) -> Usage:
    """The usage of a trimmed window, given as its bucket keys and counts (oldest first) and their total."""
    reset_s = max(0.0, keys[-1] + WINDOW_S - now) if keys else 0.0
    if total < limit:
        return Usage(limit, total, reset_s, 0.0)
    # Once the oldest buckets holding `total - limit + 1` have expired, the total is below the limit.
    needed = total - limit + 1
    expired = 0
    for key, count in zip(keys, counts, strict=True):
        expired += count
        if expired >= needed:
            return Usage(limit, total, reset_s, max(0.0, key + WINDOW_S - now))
    return Usage(limit, total, reset_s, reset_s)


class Window:
    """The window of one limit, kept in memory: bucket keys and their counts, oldest first, with their
    total."""

    __slots__ = ("_counts", "_keys", "limit", "total")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._keys: deque[int] = deque()
        self._counts: deque[int] = deque()
        self.total = 0

    def trim(self, now: float) -> None:
        """Drop the buckets that no longer count at `now`."""
        keys = self._keys
        horizon = now - WINDOW_S
        while keys and keys[0] <= horizon:
            keys.popleft()
            self.total -= self._counts.popleft()

    def add(self, at: float, amount: int) -> None:
        """Count `amount` at time `at` (normally now; an earlier time goes into its own bucket)."""
        key = bucket(at)
        keys, counts = self._keys, self._counts
        self.total += amount
        if keys and keys[-1] == key:
            counts[-1] += amount
            return
        if not keys or keys[-1] < key:
            keys.append(key)
            counts.append(amount)
            return
        index = len(keys) - 1
        while index > 0 and keys[index - 1] >= key:  # the clock went back: at most 61 steps
            index -= 1
        if keys[index] == key:
            counts[index] += amount
        else:
            keys.insert(index, key)
            counts.insert(index, amount)

    def exhausted(self, now: float) -> bool:
        """Trim the window to `now`: does it refuse one more?"""
        self.trim(now)
        return self.total >= self.limit

    def usage(self, now: float) -> Usage:
        """The usage of this window (trim it first)."""
        return usage(self.limit, self._keys, self._counts, self.total, now)
