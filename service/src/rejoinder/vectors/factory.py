"""The vector index beside a store: in the SQLite store's file (its own tables and thread), or on the
PostgreSQL store's pool (pgvector)."""

from __future__ import annotations

from rejoinder.store.base import Store
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.sqlite import SqliteStore
from rejoinder.vectors.base import VectorIndex
from rejoinder.vectors.postgres import PostgresVectorIndex
from rejoinder.vectors.sqlite import DEFAULT_CACHE_BYTES, SqliteVectorIndex


async def vector_index_for(store: Store, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> VectorIndex:
    """Open the index that goes with `store` (close it before the store); TypeError for a store kind
    that has none. A ":memory:" SQLite store gets an in-memory index of its own."""
    if isinstance(store, SqliteStore):
        return await SqliteVectorIndex.open(store.path or ":memory:", cache_bytes=cache_bytes)
    if isinstance(store, PostgresStore):
        return await PostgresVectorIndex.on(store.pool)
    raise TypeError(f"{type(store).__name__} has no vector index")
