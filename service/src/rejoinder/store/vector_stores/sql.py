"""`VectorStoreStore` in SQL, once for SQLite and PostgreSQL: the statements run (their text is in
`statements.py`) and the rows they make.

Each backend gives a `Db` (`db.py`): it runs one statement, or several in one transaction. Rows keep the
order they were inserted in by a column of their own (SQLite's `rowid`, PostgreSQL's identity column
`seq`). A claim in PostgreSQL locks its rows with `SKIP LOCKED`, so two replicas never claim the same
file; SQLite's write lock orders the claims of every process on the file.
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
from rejoinder.store.vector_stores.statements import (
    BATCH,
    CANCEL_BATCH,
    CANCEL_BATCH_FILES,
    CLAIM,
    CLAIMABLE,
    CONTENT,
    DELETE_FILE,
    DELETE_STORE,
    FILES,
    FINISH,
    HEARTBEAT,
    INSERT_BATCH,
    INSERT_STORE,
    RELEASE,
    STORES,
    TOUCH,
    UPDATE_ATTRIBUTES,
    UPDATE_STORE,
    UPSERT_FILE,
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
        self._claim = CLAIM.format(lock="FOR UPDATE SKIP LOCKED" if db.dialect == "postgres" else "")

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
        statements: list[Statement] = [(INSERT_STORE, row)]
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
        return (UPSERT_FILE, (*args, tenant))

    async def get_store(self, vector_store_id: str, *, tenant: str) -> VectorStoreRow | None:
        rows = await self._db.fetch(f"{STORES} AND s.id = $2 GROUP BY s.id", (tenant, vector_store_id))
        return _store(rows[0]) if rows else None

    async def list_stores(self, window: Window, *, tenant: str) -> Page[VectorStoreRow]:
        """A page of the tenant's stores in insertion order (`created_at` of the same second included)."""
        query = _Query(STORES, (tenant,))
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
        if not await self._db.fetch(UPDATE_STORE, args):
            return None
        return await self.get_store(vector_store_id, tenant=tenant)

    async def touch_store(self, vector_store_id: str, *, tenant: str, now: int) -> None:
        await self._db.fetch(TOUCH, (vector_store_id, tenant, now))

    async def delete_store(self, vector_store_id: str, *, tenant: str) -> bool:
        return bool(await self._db.fetch(DELETE_STORE, (vector_store_id, tenant)))

    async def add_files(
        self,
        vector_store_id: str,
        files: Sequence[NewStoreFile],
        *,
        tenant: str,
        now: int,
        batch_id: str | None = None,
    ) -> bool:
        statements: list[Statement] = [(TOUCH, (vector_store_id, tenant, now))]
        if batch_id is not None:
            statements.append((INSERT_BATCH, (batch_id, vector_store_id, now, tenant)))
        statements += [self._upsert(vector_store_id, f, tenant, batch_id) for f in files]
        results = await self._db.atomic(statements)
        return bool(results[0])

    async def get_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> StoreFileRow | None:
        rows = await self._db.fetch(f"{FILES} AND f.file_id = $3", (tenant, vector_store_id, file_id))
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
        query = _Query(FILES, (tenant, vector_store_id))
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
        if not await self._db.fetch(UPDATE_ATTRIBUTES, args):
            return None
        return await self.get_file(vector_store_id, file_id, tenant=tenant)

    async def delete_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> bool:
        return bool(await self._db.fetch(DELETE_FILE, (vector_store_id, file_id, tenant)))

    async def file_content(
        self, vector_store_id: str, file_id: str, *, tenant: str
    ) -> tuple[str, ...] | None:
        rows = await self._db.fetch(CONTENT, (vector_store_id, file_id, tenant))
        if not rows:
            return None
        raw = rows[0][0]
        return () if raw is None else tuple(cast(list[str], orjson.loads(cast(bytes, raw))))

    async def get_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None:
        rows = await self._db.fetch(BATCH, (vector_store_id, batch_id, tenant))
        return _batch(rows[0]) if rows else None

    async def cancel_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None:
        args = (vector_store_id, batch_id, tenant)
        await self._db.atomic([(CANCEL_BATCH, args), (CANCEL_BATCH_FILES, args)])
        return await self.get_batch(vector_store_id, batch_id, tenant=tenant)

    async def claim_files(self, owner: str, *, now_ms: int, stale_before_ms: int, limit: int) -> list[Claim]:
        if not await self._db.fetch(CLAIMABLE, (owner, stale_before_ms)):
            return []  # a read: an idle process polling takes no write lock
        rows = await self._db.fetch(self._claim, (owner, now_ms, stale_before_ms, limit))
        return [
            Claim(str(r[0]), str(r[1]), str(r[2]), _chunking(r[3]), _attributes(r[4]), _int(r[5]))
            for r in rows
        ]

    async def heartbeat_files(self, owner: str, *, now_ms: int) -> set[tuple[str, str]]:
        return {(str(r[0]), str(r[1])) for r in await self._db.fetch(HEARTBEAT, (owner, now_ms))}

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
        return bool(await self._db.fetch(FINISH, args))

    async def release_files(self, owner: str) -> int:
        return len(await self._db.fetch(RELEASE, (owner,)))
