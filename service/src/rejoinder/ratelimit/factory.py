"""Which rate limiter a server uses: shared through PostgreSQL when replicas share one, else in memory."""

from __future__ import annotations

from rejoinder.config_limits import RateLimitSettings
from rejoinder.core.clock import Clock
from rejoinder.ratelimit.base import RateLimiter
from rejoinder.ratelimit.memory import MemoryRateLimiter
from rejoinder.ratelimit.postgres import PostgresRateLimiter
from rejoinder.store.base import Store
from rejoinder.store.postgres import PostgresStore


async def open_limiter(
    settings: RateLimitSettings, store: Store, clock: Clock, *, replica: str, lease_s: float
) -> RateLimiter:
    """Replicas that share a PostgreSQL store share one quota; a SQLite server counts in memory."""
    if not settings.unlimited and isinstance(store, PostgresStore):
        return await PostgresRateLimiter.open(store, settings, clock, replica=replica, lease_s=lease_s)
    return MemoryRateLimiter(settings, clock)


def describe(settings: RateLimitSettings, store: Store) -> str:
    """For the start-up announcement."""
    if settings.unlimited:
        return "no rate limits"
    tenants = len(settings.tenants)
    own = f", {tenants} tenant{'s' * (tenants != 1)} with their own" if tenants else ""
    where = (
        "shared by every replica of this PostgreSQL store"
        if isinstance(store, PostgresStore)
        else "in memory"
    )
    return f"rate limits {where}{own}"
