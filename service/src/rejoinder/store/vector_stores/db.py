"""Where vector stores' metadata lives: in the server's own store, SQLite or PostgreSQL.

On SQLite the statements run on the store's one thread (`SqliteStore.run`), in turn with its other
calls (so an in-memory database is the same database too); on PostgreSQL on the store's pool.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Literal

import asyncpg

from rejoinder.store.base import Store
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.sqlite import SqliteStore
from rejoinder.store.sqlite_ops import transaction
from rejoinder.store.vector_stores.base import VectorStoreStore
from rejoinder.store.vector_stores.sql import Row, SqlVectorStores, Statement

_MARKER = re.compile(r"\$(\d+)")
_CAST = re.compile(r"::[a-z]+")


def sqlite_text(query: str) -> str:
    """A statement written for PostgreSQL, for SQLite: `?n` markers, no `::type` casts."""
    return _CAST.sub("", _MARKER.sub(r"?\1", query))


def _fetch(conn: sqlite3.Connection, query: str, args: Sequence[object]) -> list[Row]:
    """One statement (in autocommit mode a write is its own transaction, committed once its rows are read)."""
    return [tuple(row) for row in conn.execute(sqlite_text(query), tuple(args)).fetchall()]


def _atomic(conn: sqlite3.Connection, statements: Sequence[Statement]) -> list[list[Row]]:
    with transaction(conn, "IMMEDIATE"):
        return [_fetch(conn, query, args) for query, args in statements]


class SqliteDb:
    """Statements on a `SqliteStore`'s thread and connection."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    async def fetch(self, query: str, args: Sequence[object]) -> list[Row]:
        return await self._store.run(_fetch, query, args)

    async def atomic(self, statements: Sequence[Statement]) -> list[list[Row]]:
        return await self._store.run(_atomic, statements)


class PostgresDb:
    """Statements on a `PostgresStore`'s pool."""

    dialect: Literal["postgres"] = "postgres"

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    async def fetch(self, query: str, args: Sequence[object]) -> list[Row]:
        async with self._pool.acquire() as conn:
            return [tuple(r) for r in await conn.fetch(query, *args)]

    async def atomic(self, statements: Sequence[Statement]) -> list[list[Row]]:
        async with self._pool.acquire() as conn, conn.transaction():
            return [[tuple(r) for r in await conn.fetch(query, *args)] for query, args in statements]


def vector_stores_of(store: Store) -> VectorStoreStore:
    """The vector stores kept in `store` (a `SqliteStore` or `PostgresStore`); TypeError for another."""
    if isinstance(store, SqliteStore):
        return SqlVectorStores(SqliteDb(store))
    if isinstance(store, PostgresStore):
        return SqlVectorStores(PostgresDb(store.pool))
    raise TypeError(f"vector stores need a SQLite or PostgreSQL store, not {type(store).__name__}")
