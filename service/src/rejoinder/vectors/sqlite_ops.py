"""Every statement the SQLite vector index runs, on its one worker thread's connection."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence

from rejoinder.store.sqlite_ops import open_wal, transaction
from rejoinder.vectors.base import FileChunks
from rejoinder.vectors.filters import AttributeValue
from rejoinder.vectors.matrix import StoreVectors, unit_bytes
from rejoinder.vectors.sqlite_schema import migrate

FileRow = tuple[str, str, dict[str, AttributeValue]]  # file id, filename, attributes
HitRow = tuple[int, str, str, int, str]  # chunk id, vector store, file id, position, text


def connect(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    """As the store opens its file (store/sqlite_ops.open_wal), then the index's migrations."""
    conn = open_wal(path, busy_timeout_s)
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _removed(conn: sqlite3.Connection, tenant: str, vector_store_id: str) -> None:
    conn.execute(
        """
        INSERT INTO vector_index_removals (tenant, vector_store_id, removals) VALUES (?, ?, 1)
        ON CONFLICT (tenant, vector_store_id) DO UPDATE SET removals = removals + 1
        """,
        (tenant, vector_store_id),
    )


def _delete_file(conn: sqlite3.Connection, tenant: str, vector_store_id: str, file_id: str) -> bool:
    key = (tenant, vector_store_id, file_id)
    where = "WHERE tenant = ? AND vector_store_id = ? AND file_id = ?"
    chunks = conn.execute(f"DELETE FROM vector_index_chunks {where}", key).rowcount
    files = conn.execute(f"DELETE FROM vector_index_files {where}", key).rowcount
    if chunks:
        _removed(conn, tenant, vector_store_id)
    return files > 0


def _check_dimensions(conn: sqlite3.Connection, file: FileChunks) -> None:
    sizes = {len(chunk.embedding) for chunk in file.chunks}
    found = conn.execute(
        "SELECT length(embedding) / 4 FROM vector_index_chunks"
        " WHERE tenant = ? AND vector_store_id = ? AND model = ? LIMIT 1",
        (file.tenant, file.vector_store_id, file.embedding_model),
    ).fetchone()
    if found is not None:
        sizes.add(found[0])
    if len(sizes) > 1 or 0 in sizes:
        raise ValueError(f"embeddings of model {file.embedding_model!r} differ in size: {sorted(sizes)}")


def add_file(conn: sqlite3.Connection, file: FileChunks) -> None:
    rows = [
        (file.tenant, file.vector_store_id, file.file_id, c.position, file.embedding_model, c.text,
         unit_bytes(c.embedding))
        for c in file.chunks
    ]  # fmt: skip
    with transaction(conn, "IMMEDIATE"):
        _delete_file(conn, file.tenant, file.vector_store_id, file.file_id)
        _check_dimensions(conn, file)
        conn.execute(
            "INSERT INTO vector_index_files (tenant, vector_store_id, file_id, filename, attributes)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                file.tenant,
                file.vector_store_id,
                file.file_id,
                file.filename,
                json.dumps(dict(file.attributes)),
            ),
        )
        conn.executemany(
            "INSERT INTO vector_index_chunks (tenant, vector_store_id, file_id, position, model, text,"
            " embedding) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def delete_file(conn: sqlite3.Connection, tenant: str, vector_store_id: str, file_id: str) -> bool:
    with transaction(conn, "IMMEDIATE"):
        return _delete_file(conn, tenant, vector_store_id, file_id)


def delete_store(conn: sqlite3.Connection, tenant: str, vector_store_id: str) -> int:
    key = (tenant, vector_store_id)
    with transaction(conn, "IMMEDIATE"):
        conn.execute("DELETE FROM vector_index_chunks WHERE tenant = ? AND vector_store_id = ?", key)
        files: int = conn.execute(
            "DELETE FROM vector_index_files WHERE tenant = ? AND vector_store_id = ?", key
        ).rowcount
        _removed(conn, tenant, vector_store_id)
    return files


def update_attributes(
    conn: sqlite3.Connection,
    tenant: str,
    vector_store_id: str,
    file_id: str,
    attributes: Mapping[str, AttributeValue],
) -> bool:
    found = conn.execute(
        "UPDATE vector_index_files SET attributes = ?"
        " WHERE tenant = ? AND vector_store_id = ? AND file_id = ?",
        (json.dumps(dict(attributes)), tenant, vector_store_id, file_id),
    )
    return found.rowcount > 0


def files(conn: sqlite3.Connection, tenant: str, vector_store_ids: Sequence[str]) -> dict[str, list[FileRow]]:
    """The files of the tenant's vector stores, by store."""
    rows = conn.execute(
        "SELECT vector_store_id, file_id, filename, attributes FROM vector_index_files"
        " WHERE tenant = ? AND vector_store_id IN (SELECT value FROM json_each(?))",
        (tenant, json.dumps(list(vector_store_ids))),
    ).fetchall()
    by_store: dict[str, list[FileRow]] = {}
    for store, file_id, filename, attributes in rows:
        by_store.setdefault(store, []).append((file_id, filename, json.loads(attributes)))
    return by_store


def vector_state(conn: sqlite3.Connection, tenant: str, vector_store_id: str, model: str) -> tuple[int, int]:
    """(removals, highest chunk id) of the store's chunks of this model: what says a cache is stale."""
    found = conn.execute(
        "SELECT removals FROM vector_index_removals WHERE tenant = ? AND vector_store_id = ?",
        (tenant, vector_store_id),
    ).fetchone()
    (last,) = conn.execute(
        "SELECT coalesce(max(id), 0) FROM vector_index_chunks"
        " WHERE tenant = ? AND vector_store_id = ? AND model = ?",
        (tenant, vector_store_id, model),
    ).fetchone()
    return (0 if found is None else found[0]), last


def load_vectors(
    conn: sqlite3.Connection, key: tuple[str, str, str], cached: StoreVectors, last_id: int
) -> StoreVectors:
    """`cached` and the store's chunks of the model with ids past its last, up to `last_id`."""
    tenant, store, model = key
    rows = conn.execute(
        "SELECT id, file_id, embedding FROM vector_index_chunks"
        " WHERE tenant = ? AND vector_store_id = ? AND model = ? AND id > ? AND id <= ? ORDER BY id",
        (tenant, store, model, cached.last_id, last_id),
    ).fetchall()
    return cached.extended(last_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def keyword(  # noqa: PLR0913 - one query's parts, all needed
    conn: sqlite3.Connection,
    tenant: str,
    stores: Sequence[str],
    terms: Sequence[str],
    model: str | None,
    allowed: Sequence[tuple[str, str]] | None,
    depth: int,
) -> list[int]:
    """Chunk ids that hold any of the terms, best bm25 first; only the allowed (store, file) pairs' when
    given."""
    if not terms:
        return []
    sql = [
        "SELECT c.id FROM vector_index_chunks_fts",
        "JOIN vector_index_chunks AS c ON c.id = vector_index_chunks_fts.rowid",
        "WHERE vector_index_chunks_fts MATCH ? AND c.tenant = ?",
        "AND c.vector_store_id IN (SELECT value FROM json_each(?))",
    ]
    params: list[object] = [" OR ".join(f'"{term}"' for term in terms), tenant, json.dumps(list(stores))]
    if model is not None:
        sql.append("AND c.model = ?")
        params.append(model)
    if allowed is not None:
        sql.append(
            "AND (c.vector_store_id, c.file_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))"
        )
        params.append(json.dumps(list(allowed)))
    sql.append("ORDER BY vector_index_chunks_fts.rank, c.id LIMIT ?")
    params.append(depth)
    return [chunk for (chunk,) in conn.execute(" ".join(sql), params)]


def hits(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, HitRow]:
    rows = conn.execute(
        "SELECT id, vector_store_id, file_id, position, text FROM vector_index_chunks"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    ).fetchall()
    return {row[0]: row for row in rows}
