"""Which rate limiter a server uses: the one its store's processes share, else in memory.

Replicas on one PostgreSQL database share `PostgresRateLimiter`; worker processes on one SQLite file
share `SqliteRateLimiter`. Without limits, or on an in-memory store (tests, ':memory:'), the limiter
counts in this process's memory; without limits it never counts at all, so no limiter table is touched.
"""

from __future__ import annotations

from pathlib import Path

from rejoinder.config_limits import RateLimitSettings
from rejoinder.core.clock import Clock
from rejoinder.ratelimit.base import RateLimiter
from rejoinder.ratelimit.memory import MemoryRateLimiter
from rejoinder.ratelimit.postgres import PostgresRateLimiter
from rejoinder.ratelimit.sqlite import SqliteRateLimiter
from rejoinder.store.base import Store
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.sqlite import SqliteStore


async def open_limiter(
    settings: RateLimitSettings, store: Store, clock: Clock, *, replica: str, lease_s: float
) -> RateLimiter:
    """Replicas that share a PostgreSQL store, or workers that share a SQLite file, share one quota."""
    if settings.unlimited:
        return MemoryRateLimiter(settings, clock)
    if isinstance(store, PostgresStore):
        return await PostgresRateLimiter.open(store, settings, clock, replica=replica, lease_s=lease_s)
    path = _sqlite_file(store)
    if path is not None:
        return await SqliteRateLimiter.open(path, settings, clock, replica=replica, lease_s=lease_s)
    return MemoryRateLimiter(settings, clock)


def describe(settings: RateLimitSettings, store: Store) -> str:
    """For the start-up announcement."""
    if settings.unlimited:
        return "no rate limits"
    tenants = len(settings.tenants)
    own = f", {tenants} tenant{'s' * (tenants != 1)} with their own" if tenants else ""
    if isinstance(store, PostgresStore):
        where = "shared by every replica of this PostgreSQL store"
    elif _sqlite_file(store) is not None:
        where = "shared by every worker on this SQLite database"
    else:
        where = "in memory"
    return f"rate limits {where}{own}"


def _sqlite_file(store: Store) -> Path | None:
    """The SQLite file the store keeps its data in, or None (another store, or ':memory:')."""
    return store.path if isinstance(store, SqliteStore) else None
