"""`VectorStoreStore` in SQL, once for SQLite and PostgreSQL: the statements and the rows they make.

Each backend gives a `Db` (`db.py`): it runs one statement, or several in one
transaction. Statements are written for PostgreSQL, with `$n` markers and `::type` casts (for SQLite,
`?n` are swapped in and the casts dropped); rows keep the order they were inserted in by a column of
their own (SQLite's `rowid`, PostgreSQL's identity column `seq`). A claim in PostgreSQL locks its rows
with `SKIP LOCKED`, so two replicas never claim the same file; SQLite's write lock orders the claims
of every process on the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol, cast

import orjson

from rejoinder.store.vector_stores.base import (
    BatchRow,
    Claim,
    FileCounts,
    FileError,
    FileStatus,
    NewStoreFile,
    NewVectorStore,
    Outcome,
    Page,
    StoreFileRow,
    StoreUpdate,
    VectorStoreRow,
    Window,
)
from rejoinder.vectors.chunking import ChunkingStrategy
from rejoinder.vectors.filters import AttributeValue

Row = tuple[object, ...]
Statement = tuple[str, Sequence[object]]
Dialect = Literal["sqlite", "postgres"]


class Db(Protocol):
    """A database the statements run on."""

    @property
    def dialect(self) -> Dialect:
        """Which SQL it speaks."""
        ...

    async def fetch(self, query: str, args: Sequence[object]) -> list[Row]:
        """The rows of one statement."""
        ...

    async def atomic(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """The rows of each statement, all run in one transaction."""
        ...


_COUNTS = ", ".join(
    f"CAST(COALESCE(SUM(CASE WHEN f.status = '{s}' THEN 1 ELSE 0 END), 0) AS BIGINT)"
    for s in ("in_progress", "completed", "failed", "cancelled")
)
_STORE_COLUMNS = (
    "s.id, s.created_at, s.name, s.metadata, s.expires_after_days, COALESCE(s.last_active_at, s.created_at), "
    f"CAST(COALESCE(SUM(f.usage_bytes), 0) AS BIGINT), {_COUNTS}"
)
_STORES = (
    f"SELECT {_STORE_COLUMNS} FROM vector_stores s "
    "LEFT JOIN vector_store_files f ON f.vector_store_id = s.id WHERE s.tenant = $1"
)
_FILE_COLUMNS = (
    "f.vector_store_id, f.file_id, f.created_at, f.status, f.usage_bytes, f.last_error_code, "
    "f.last_error_message, f.chunking_strategy, f.attributes, f.batch_id"
)
_FILES = (
    f"SELECT {_FILE_COLUMNS} FROM vector_store_files f JOIN vector_stores s ON s.id = f.vector_store_id "
    "WHERE s.tenant = $1 AND f.vector_store_id = $2"
)
_INSERT_STORE = """
INSERT INTO vector_stores (id, tenant, created_at, name, description, metadata, status, usage_bytes,
    expires_after_days, last_active_at)
VALUES ($1, $2, $3, $4, $5, $6, 'completed', 0, $7, $8)
"""
_UPSERT_FILE = """
INSERT INTO vector_store_files (vector_store_id, file_id, created_at, status, usage_bytes, chunking_strategy,
    attributes, batch_id, attempts)
SELECT $1::text, $2::text, $3::bigint, 'in_progress', 0, $4::bytea, $5::bytea, $6::text, 0
WHERE EXISTS (SELECT 1 FROM vector_stores WHERE id = $1 AND tenant = $7)
ON CONFLICT (vector_store_id, file_id) DO UPDATE SET created_at = excluded.created_at, status = 'in_progress',
    usage_bytes = 0, last_error_code = NULL, last_error_message = NULL,
    chunking_strategy = excluded.chunking_strategy, attributes = excluded.attributes,
    batch_id = excluded.batch_id, owner = NULL, heartbeat_at = NULL, attempts = 0, content = NULL
"""
_INSERT_BATCH = """
INSERT INTO vector_store_file_batches (id, vector_store_id, created_at, status)
SELECT $1::text, $2::text, $3::bigint, 'in_progress'
WHERE EXISTS (SELECT 1 FROM vector_stores WHERE id = $2 AND tenant = $4)
"""
_TOUCH = "UPDATE vector_stores SET last_active_at = $3 WHERE id = $1 AND tenant = $2 RETURNING id"
_UPDATE_STORE = """
UPDATE vector_stores SET name = COALESCE($3, name), metadata = COALESCE($4, metadata),
    expires_after_days = CASE WHEN $5 < 0 THEN expires_after_days WHEN $5 = 0 THEN NULL ELSE $5 END,
    last_active_at = $6
WHERE id = $1 AND tenant = $2 RETURNING id
"""
_DELETE_STORE = "DELETE FROM vector_stores WHERE id = $1 AND tenant = $2 RETURNING id"
_OWNED = "vector_store_id IN (SELECT id FROM vector_stores WHERE tenant = $3)"
_UPDATE_ATTRIBUTES = (
    f"UPDATE vector_store_files SET attributes = $4 WHERE vector_store_id = $1 AND file_id = $2 AND {_OWNED} "
    "RETURNING file_id"
)
_DELETE_FILE = (
    f"DELETE FROM vector_store_files WHERE vector_store_id = $1 AND file_id = $2 AND {_OWNED} "
    "RETURNING file_id"
)
_CONTENT = f"SELECT content FROM vector_store_files WHERE vector_store_id = $1 AND file_id = $2 AND {_OWNED}"
_BATCH = f"""
SELECT b.id, b.vector_store_id, b.created_at, b.status, {_COUNTS}
FROM vector_store_file_batches b JOIN vector_stores s ON s.id = b.vector_store_id
LEFT JOIN vector_store_files f ON f.batch_id = b.id AND f.vector_store_id = b.vector_store_id
WHERE b.vector_store_id = $1 AND b.id = $2 AND s.tenant = $3 GROUP BY b.id, b.vector_store_id, b.created_at,
    b.status
"""
_CANCEL_BATCH = f"""
UPDATE vector_store_file_batches SET status = 'cancelled' WHERE vector_store_id = $1 AND id = $2 AND {_OWNED}
AND EXISTS (SELECT 1 FROM vector_store_files WHERE batch_id = $2 AND vector_store_id = $1
    AND status = 'in_progress')
"""
_CANCEL_BATCH_FILES = f"""
UPDATE vector_store_files SET status = 'cancelled', owner = NULL, heartbeat_at = NULL
WHERE vector_store_id = $1 AND batch_id = $2 AND status = 'in_progress' AND {_OWNED}
"""
_CLAIM = """
UPDATE vector_store_files SET owner = $1, heartbeat_at = $2, attempts = attempts + 1
WHERE (vector_store_id, file_id) IN (
    SELECT vector_store_id, file_id FROM vector_store_files
    WHERE status = 'in_progress' AND (owner IS NULL OR (heartbeat_at < $3 AND owner <> $1))
    ORDER BY created_at LIMIT $4 {lock}
)
RETURNING (SELECT s.tenant FROM vector_stores s WHERE s.id = vector_store_files.vector_store_id),
    vector_store_id, file_id, chunking_strategy, attributes, attempts
"""
_CLAIMABLE = """
SELECT 1 FROM vector_store_files
WHERE status = 'in_progress' AND (owner IS NULL OR (heartbeat_at < $2 AND owner <> $1)) LIMIT 1
"""
_HEARTBEAT = """
UPDATE vector_store_files SET heartbeat_at = $2 WHERE owner = $1 AND status = 'in_progress'
RETURNING vector_store_id, file_id
"""
_FINISH = """
UPDATE vector_store_files SET status = $4, usage_bytes = $5, last_error_code = $6, last_error_message = $7,
    content = $8, owner = NULL, heartbeat_at = NULL
WHERE vector_store_id = $2 AND file_id = $3 AND owner = $1 AND status = 'in_progress' RETURNING file_id
"""
_RELEASE = """
UPDATE vector_store_files SET owner = NULL, heartbeat_at = NULL,
    attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
WHERE owner = $1 AND status = 'in_progress' RETURNING file_id
"""


def chunking_json(strategy: ChunkingStrategy) -> bytes:
    return orjson.dumps(
        {
            "type": strategy.type,
            "max_chunk_size_tokens": strategy.max_chunk_size_tokens,
            "chunk_overlap_tokens": strategy.chunk_overlap_tokens,
        }
    )


def _chunking(raw: object) -> ChunkingStrategy:
    data = orjson.loads(cast(bytes, raw))
    return ChunkingStrategy(
        data["type"], int(data["max_chunk_size_tokens"]), int(data["chunk_overlap_tokens"])
    )


def _attributes(raw: object) -> dict[str, AttributeValue]:
    return {} if raw is None else cast(dict[str, AttributeValue], orjson.loads(cast(bytes, raw)))


def _int(value: object) -> int:
    return int(cast(int, value))


def _counts(row: Row, start: int) -> FileCounts:
    return FileCounts(*(_int(v) for v in row[start : start + 4]))


def _store(row: Row) -> VectorStoreRow:
    days = row[4]
    return VectorStoreRow(
        id=str(row[0]),
        created_at=_int(row[1]),
        name=str(row[2]),
        metadata=cast(dict[str, str], orjson.loads(cast(bytes, row[3]))),
        expires_after_days=None if days is None else _int(days),
        last_active_at=_int(row[5]),
        usage_bytes=_int(row[6]),
        counts=_counts(row, 7),
    )


def _file(row: Row) -> StoreFileRow:
    error = None if row[5] is None else FileError(str(row[5]), str(row[6] or ""))
    return StoreFileRow(
        vector_store_id=str(row[0]),
        file_id=str(row[1]),
        created_at=_int(row[2]),
        status=cast(FileStatus, row[3]),
        usage_bytes=_int(row[4]),
        last_error=error,
        chunking=_chunking(row[7]),
        attributes=_attributes(row[8]),
        batch_id=None if row[9] is None else str(row[9]),
    )


def _batch(row: Row) -> BatchRow:
    counts = _counts(row, 4)
    status = str(row[3])
    if status != "cancelled":
        if counts.in_progress:
            status = "in_progress"
        elif counts.total and counts.failed == counts.total:
            status = "failed"
        else:
            status = "completed"
    return BatchRow(str(row[0]), str(row[1]), _int(row[2]), status, counts)


class _Query:
    """A statement being built: its text and its arguments, each argument given the next marker."""

    def __init__(self, text: str, args: Sequence[object]) -> None:
        self.text = text
        self.args = list(args)

    def mark(self, value: object) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


class SqlVectorStores:
    """`VectorStoreStore` on a `Db`."""

    def __init__(self, db: Db) -> None:
        self._db = db
        self._seq = "rowid" if db.dialect == "sqlite" else "seq"
        self._claim = _CLAIM.format(lock="FOR UPDATE SKIP LOCKED" if db.dialect == "postgres" else "")

    async def create_store(
        self, store: NewVectorStore, files: Sequence[NewStoreFile], *, tenant: str, now: int
    ) -> None:
        """The store and its first files, in one transaction."""
        row = (
            store.id,
            tenant,
            store.created_at,
            store.name,
            store.description,
            orjson.dumps(dict(store.metadata)),
            store.expires_after_days,
            now,
        )
        statements: list[Statement] = [(_INSERT_STORE, row)]
        statements += [self._upsert(store.id, f, tenant, None) for f in files]
        await self._db.atomic(statements)

    @staticmethod
    def _upsert(vector_store_id: str, file: NewStoreFile, tenant: str, batch_id: str | None) -> Statement:
        attributes = orjson.dumps(dict(file.attributes))
        args = (
            vector_store_id,
            file.file_id,
            file.created_at,
            chunking_json(file.chunking),
            attributes,
            batch_id,
        )
        return (_UPSERT_FILE, (*args, tenant))

    async def get_store(self, vector_store_id: str, *, tenant: str) -> VectorStoreRow | None:
        rows = await self._db.fetch(f"{_STORES} AND s.id = $2 GROUP BY s.id", (tenant, vector_store_id))
        return _store(rows[0]) if rows else None

    async def list_stores(self, window: Window, *, tenant: str) -> Page[VectorStoreRow]:
        """A page of the tenant's stores in insertion order (`created_at` of the same second included)."""
        query = _Query(_STORES, (tenant,))
        cursor = f"(SELECT c.{self._seq} FROM vector_stores c WHERE c.id = {{}} AND c.tenant = $1)"
        rows, has_more = await self._page(query, f"s.{self._seq}", cursor, "GROUP BY s.id", window)
        return Page(tuple(_store(r) for r in rows), has_more)

    async def _page(
        self, query: _Query, seq: str, cursor: str, group: str, window: Window
    ) -> tuple[list[Row], bool]:
        """`window` of `query`: `cursor` (a subquery with `{}` for the ID) finds a cursor's place."""
        backwards = window.before is not None and window.after is None
        ascending = (window.order == "asc") != backwards
        later, earlier = (">", "<") if window.order == "asc" else ("<", ">")
        text = query.text
        if window.after is not None:
            text += f" AND {seq} {later} {cursor.format(query.mark(window.after))}"
        if window.before is not None:
            text += f" AND {seq} {earlier} {cursor.format(query.mark(window.before))}"
        direction = "ASC" if ascending else "DESC"
        text += f" {group} ORDER BY {seq} {direction} LIMIT {query.mark(window.limit + 1)}"
        rows = await self._db.fetch(text, query.args)
        has_more = len(rows) > window.limit
        rows = rows[: window.limit]
        return (rows[::-1] if backwards else rows), has_more

    async def update_store(
        self, vector_store_id: str, update: StoreUpdate, *, tenant: str, now: int
    ) -> VectorStoreRow | None:
        metadata = None if update.metadata is None else orjson.dumps(dict(update.metadata))
        days = -1 if update.expires_after_days is None else update.expires_after_days
        args = (vector_store_id, tenant, update.name, metadata, days, now)
        if not await self._db.fetch(_UPDATE_STORE, args):
            return None
        return await self.get_store(vector_store_id, tenant=tenant)

    async def touch_store(self, vector_store_id: str, *, tenant: str, now: int) -> None:
        await self._db.fetch(_TOUCH, (vector_store_id, tenant, now))

    async def delete_store(self, vector_store_id: str, *, tenant: str) -> bool:
        return bool(await self._db.fetch(_DELETE_STORE, (vector_store_id, tenant)))

    async def add_files(
        self,
        vector_store_id: str,
        files: Sequence[NewStoreFile],
        *,
        tenant: str,
        now: int,
        batch_id: str | None = None,
    ) -> bool:
        statements: list[Statement] = [(_TOUCH, (vector_store_id, tenant, now))]
        if batch_id is not None:
            statements.append((_INSERT_BATCH, (batch_id, vector_store_id, now, tenant)))
        statements += [self._upsert(vector_store_id, f, tenant, batch_id) for f in files]
        results = await self._db.atomic(statements)
        return bool(results[0])

    async def get_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> StoreFileRow | None:
        rows = await self._db.fetch(f"{_FILES} AND f.file_id = $3", (tenant, vector_store_id, file_id))
        return _file(rows[0]) if rows else None

    async def list_files(
        self,
        vector_store_id: str,
        window: Window,
        *,
        tenant: str,
        status: FileStatus | None = None,
        batch_id: str | None = None,
    ) -> Page[StoreFileRow] | None:
        if batch_id is not None:
            if await self.get_batch(vector_store_id, batch_id, tenant=tenant) is None:
                return None
        elif await self.get_store(vector_store_id, tenant=tenant) is None:
            return None
        query = _Query(_FILES, (tenant, vector_store_id))
        if status is not None:
            query.text += f" AND f.status = {query.mark(status)}"
        if batch_id is not None:
            query.text += f" AND f.batch_id = {query.mark(batch_id)}"
        cursor = (
            f"(SELECT c.{self._seq} FROM vector_store_files c "
            "WHERE c.vector_store_id = $2 AND c.file_id = {})"
        )
        rows, has_more = await self._page(query, f"f.{self._seq}", cursor, "", window)
        return Page(tuple(_file(r) for r in rows), has_more)

    async def update_attributes(
        self, vector_store_id: str, file_id: str, attributes: Mapping[str, AttributeValue], *, tenant: str
    ) -> StoreFileRow | None:
        args = (vector_store_id, file_id, tenant, orjson.dumps(dict(attributes)))
        if not await self._db.fetch(_UPDATE_ATTRIBUTES, args):
            return None
        return await self.get_file(vector_store_id, file_id, tenant=tenant)

    async def delete_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> bool:
        return bool(await self._db.fetch(_DELETE_FILE, (vector_store_id, file_id, tenant)))

    async def file_content(
        self, vector_store_id: str, file_id: str, *, tenant: str
    ) -> tuple[str, ...] | None:
        rows = await self._db.fetch(_CONTENT, (vector_store_id, file_id, tenant))
        if not rows:
            return None
        raw = rows[0][0]
        return () if raw is None else tuple(cast(list[str], orjson.loads(cast(bytes, raw))))

    async def get_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None:
        rows = await self._db.fetch(_BATCH, (vector_store_id, batch_id, tenant))
        return _batch(rows[0]) if rows else None

    async def cancel_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None:
        args = (vector_store_id, batch_id, tenant)
        await self._db.atomic([(_CANCEL_BATCH, args), (_CANCEL_BATCH_FILES, args)])
        return await self.get_batch(vector_store_id, batch_id, tenant=tenant)

    async def claim_files(self, owner: str, *, now_ms: int, stale_before_ms: int, limit: int) -> list[Claim]:
        if not await self._db.fetch(_CLAIMABLE, (owner, stale_before_ms)):
            return []  # a read: an idle process polling takes no write lock
        rows = await self._db.fetch(self._claim, (owner, now_ms, stale_before_ms, limit))
        return [
            Claim(str(r[0]), str(r[1]), str(r[2]), _chunking(r[3]), _attributes(r[4]), _int(r[5]))
            for r in rows
        ]

    async def heartbeat_files(self, owner: str, *, now_ms: int) -> set[tuple[str, str]]:
        return {(str(r[0]), str(r[1])) for r in await self._db.fetch(_HEARTBEAT, (owner, now_ms))}

    async def finish_file(self, owner: str, key: tuple[str, str], outcome: Outcome) -> bool:
        error = outcome.error
        content = orjson.dumps(list(outcome.chunks)) if outcome.status == "completed" else None
        args = (
            owner,
            *key,
            outcome.status,
            outcome.usage_bytes,
            None if error is None else error.code,
            None if error is None else error.message,
            content,
        )
        return bool(await self._db.fetch(_FINISH, args))

    async def release_files(self, owner: str) -> int:
        return len(await self._db.fetch(_RELEASE, (owner,)))
