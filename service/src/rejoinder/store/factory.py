"""The store a server is configured with: SQLite in the data directory, or PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from rejoinder.store.base import Store
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.sqlite import SqliteStore

POSTGRES_SCHEMES = ("postgresql", "postgres")


def describe(store_url: str | None, data_dir: Path) -> str:
    """Where responses are kept, for the start-up announcement (never the password)."""
    if store_url is None:
        return f"SQLite {(data_dir / 'rejoinder.db').resolve()}"
    url = urlsplit(store_url)
    return f"PostgreSQL {url.hostname or 'localhost'}:{url.port or 5432}{url.path}"


async def open_store(store_url: str | None, data_dir: Path) -> Store:
    """Open the configured store; ValueError for a URL that names no store this server has."""
    if store_url is None:
        return await SqliteStore.open(data_dir / "rejoinder.db")
    if urlsplit(store_url).scheme not in POSTGRES_SCHEMES:
        raise ValueError(f"store URL {store_url.split(':', 1)[0]!r}: expected postgresql://user@host:port/db")
    return await PostgresStore.open(store_url)
