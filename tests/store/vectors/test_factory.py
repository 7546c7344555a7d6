"""The index beside each store: in the SQLite store's own file, on the PostgreSQL store's pool."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rejoinder.store.postgres import PostgresStore
from rejoinder.store.sqlite import SqliteStore
from rejoinder.vectors.base import ChunkRecord, FileChunks, Query
from rejoinder.vectors.factory import vector_index_for
from tests.fakes import InMemoryStore

DOC = FileChunks("t", "vs", "f", "f.txt", {}, "m", [ChunkRecord("harbour pilots", 0, [1.0, 0.0])])


async def test_sqlite_index_lives_in_the_store_file(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "rejoinder.db")
    index = await vector_index_for(store)
    await index.add_file(DOC)
    assert [h.file_id for h in await index.search("t", ["vs"], Query("pilots", mode="keyword"))] == ["f"]
    await index.close()
    await store.close()
    with sqlite3.connect(tmp_path / "rejoinder.db") as conn:
        assert conn.execute("SELECT count(*) FROM vector_index_chunks").fetchone() == (1,)
        assert conn.execute("SELECT version FROM vector_index_schema").fetchone() == (1,)


async def test_postgres_index_shares_the_store_pool(postgres_dsn: str) -> None:
    store = await PostgresStore.open(postgres_dsn)
    index = await vector_index_for(store)
    await index.add_file(DOC)
    await index.close()  # leaves the store's pool open
    await store.ping()
    again = await vector_index_for(store)  # migrations already applied: nothing to do
    assert len(await again.search("t", ["vs"], Query("pilots", mode="keyword"))) == 1
    await again.close()
    await store.close()


async def test_other_stores_have_none() -> None:
    with pytest.raises(TypeError, match="InMemoryStore has no vector index"):
        await vector_index_for(InMemoryStore())
