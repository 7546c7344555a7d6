"""The in-process rate limiter: the default, for one server process.

Each tenant with limits gets a `_Tenant` the first time it asks: a sliding window of one-second
buckets for requests and one for tokens (`window.py`), and a count of its requests in flight. An
admission trims and reads those windows and adds one to the newest bucket, which is O(1) amortized. It
creates no task and awaits nothing. `finish` charges the tokens and releases the slot right away.

Replicas each running this limiter would each grant the full quota; use `postgres.PostgresRateLimiter`
when several share a store.
"""

from __future__ import annotations

from rejoinder.config_limits import RateLimitSettings, TenantLimits
from rejoinder.core.clock import Clock, SystemClock
from rejoinder.ratelimit.base import Admission
from rejoinder.ratelimit.replies import Reason, Snapshot, concurrent_usage
from rejoinder.ratelimit.window import Window


class _Tenant:
    """One tenant's windows and requests in flight; None where it has no such limit."""

    __slots__ = ("_clock", "concurrent", "in_flight", "requests", "tokens")

    def __init__(self, limits: TenantLimits, clock: Clock) -> None:
        self._clock = clock
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        self.requests = None if rpm is None else Window(rpm)
        self.tokens = None if tpm is None else Window(tpm)
        self.concurrent = limits.concurrent_requests
        self.in_flight = 0

    @property
    def finishes(self) -> bool:
        """Whether the end of a response changes anything (tokens to charge, a slot to release)."""
        return self.tokens is not None or self.concurrent is not None

    def refuses(self, now: float) -> Reason | None:
        """The first limit that refuses one more request at `now` (the windows are trimmed to it)."""
        if self.requests is not None and self.requests.exhausted(now):
            return "requests"
        if self.tokens is not None and self.tokens.exhausted(now):
            return "tokens"
        if self.concurrent is not None and self.in_flight >= self.concurrent:
            return "concurrent"
        return None

    def snapshot(self, now: float) -> Snapshot:
        """The usage of each limit (call `refuses` first, which trims the windows)."""
        return Snapshot(
            None if self.requests is None else self.requests.usage(now),
            None if self.tokens is None else self.tokens.usage(now),
            None if self.concurrent is None else concurrent_usage(self.concurrent, self.in_flight),
        )

    def take(self, now: float) -> None:
        """Count one admitted request."""
        if self.requests is not None:
            self.requests.add(now, 1)
        if self.concurrent is not None:
            self.in_flight += 1

    def finish(self, tokens: int) -> None:
        """A response of this tenant ended, having used `tokens`."""
        if self.concurrent is not None:
            self.in_flight -= 1
        if self.tokens is not None and tokens > 0:
            now = self._clock.now()
            self.tokens.trim(now)
            self.tokens.add(now, tokens)


class MemoryRateLimiter:
    """A `RateLimiter` that counts in this process's memory."""

    def __init__(self, settings: RateLimitSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._tenants: dict[str, _Tenant | None] = {}  # None: the tenant has no limits
        self._unlimited = Admission()
        self._closed = False

    async def admit(self, tenant: str) -> Admission:
        """Admit one request of `tenant`, or raise the 429 `ApiError`."""
        if self._closed:
            raise RuntimeError("the rate limiter is closed")
        try:
            state = self._tenants[tenant]
        except KeyError:
            state = self._tenants[tenant] = self._new_tenant(tenant)
        if state is None:
            return self._unlimited
        now = self._clock.now()
        reason = state.refuses(now)
        if reason is not None:
            raise state.snapshot(now).refusal(reason)
        state.take(now)
        headers = state.snapshot(now).headers()
        return Admission(headers, state.finish if state.finishes else None)

    async def flush(self) -> None:
        """Nothing to write: `finish` counts right away (the same call as the shared limiter's)."""

    async def close(self) -> None:
        """Refuse further admissions."""
        self._closed = True

    def _new_tenant(self, tenant: str) -> _Tenant | None:
        limits = self._settings.for_tenant(tenant)
        return None if limits.unlimited else _Tenant(limits, self._clock)


def unlimited() -> MemoryRateLimiter:
    """A limiter with no limits (every admission free and headerless): the default of `Deps`."""
    return MemoryRateLimiter(RateLimitSettings(), SystemClock())
