"""`FileStore` for PostgreSQL deployments: metadata and bytes both in the database, the bytes in
`file_parts` rows of about 1 MiB, so every replica reads what any replica stored and nothing else (a
shared volume, an object store) has to be set up.

An upload writes its parts as the bytes arrive (under the new file's ID, which no reader knows yet)
and then inserts the file row; a failed upload deletes its parts. Parts are per file, not shared by
equal uploads: deduplicating would need a reference count updated under a lock by every replica.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator

import asyncpg

from rejoinder.store.base import Order
from rejoinder.store.files import sql as q
from rejoinder.store.files.base import Describe, FilePage, StoredFile, stored_file

PART_BYTES = 1024 * 1024
_INSERT = q.numbered(q.INSERT)
_GET = q.numbered(q.GET)
_CURSOR = q.numbered(q.CURSOR)
_DELETE = q.numbered(q.DELETE)
_EXPIRED = q.numbered(q.EXPIRED)
_INSERT_PART = "INSERT INTO file_parts (file_id, part, data) VALUES ($1, $2, $3)"
_PART = "SELECT data FROM file_parts WHERE file_id = $1 AND part = $2"
_DELETE_PARTS = "DELETE FROM file_parts WHERE file_id = ANY($1::text[])"


class PostgresFileStore:
    """Files in a PostgreSQL database (the store's pool)."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], part_bytes: int = PART_BYTES) -> None:
        self._pool = pool
        self._part_bytes = part_bytes

    async def _write_parts(
        self, file_id: str, content: AsyncIterable[bytes], wrote: list[bool]
    ) -> tuple[int, str]:
        """Insert the parts; `wrote` becomes [True] once a part is in (a part of an existing file ID is
        refused at the first insert, so the parts deleted on failure are always this upload's)."""
        digest = hashlib.sha256()
        size = 0
        part = 0
        pending = bytearray()
        async for chunk in content:
            digest.update(chunk)
            size += len(chunk)
            pending += chunk
            while len(pending) >= self._part_bytes:
                await self._pool.execute(_INSERT_PART, file_id, part, bytes(pending[: self._part_bytes]))
                wrote[:] = [True]
                del pending[: self._part_bytes]
                part += 1
        if pending:
            await self._pool.execute(_INSERT_PART, file_id, part, bytes(pending))
            wrote[:] = [True]
        return size, digest.hexdigest()

    async def create_file(
        self, file_id: str, content: AsyncIterable[bytes], describe: Describe, *, tenant: str = ""
    ) -> StoredFile:
        """Write the parts, then the file row; the parts are deleted again when anything fails."""
        wrote = [False]
        try:
            size, sha256 = await self._write_parts(file_id, content, wrote)
            stored = stored_file(describe(), size, sha256)
            await self._pool.execute(_INSERT, *q.row_of(stored, tenant))
        except BaseException:
            if wrote[0]:
                await self._pool.execute(_DELETE_PARTS, [file_id])
            raise
        return stored

    async def get_file(self, file_id: str, *, now: int, tenant: str = "") -> StoredFile | None:
        """The tenant's live file, or None."""
        row = await self._pool.fetchrow(_GET, file_id, tenant, now)
        return None if row is None else q.file_of(row)

    async def list_files(
        self,
        *,
        after: str | None,
        limit: int,
        order: Order,
        purpose: str | None,
        now: int,
        tenant: str = "",
    ) -> FilePage:
        """A page of the tenant's live files (one snapshot)."""
        params: list[object] = [tenant, now]
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            if after is not None:
                created_at = await conn.fetchval(_CURSOR, after, tenant)
                if created_at is None:
                    return FilePage((), has_more=False)
                params += [created_at, after]
            if purpose is not None:
                params.append(purpose)
            query = q.numbered(q.page(order, after=after is not None, purpose=purpose is not None))
            rows = await conn.fetch(query, *params, limit + 1)
        return FilePage(tuple(q.file_of(row) for row in rows[:limit]), has_more=len(rows) > limit)

    async def read_file(self, file: StoredFile) -> AsyncIterator[bytes]:
        """The file's parts, in order, one query each."""
        parts = -(-file.bytes // self._part_bytes)
        for part in range(parts):
            data: bytes | None = await self._pool.fetchval(_PART, file.id, part)
            if data is None:
                raise FileNotFoundError(f"file {file.id}: part {part} is gone")
            yield data

    async def delete_file(self, file_id: str, *, tenant: str = "") -> bool:
        """Delete the row and its parts, in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchrow(_DELETE, file_id, tenant) is None:
                return False
            await conn.execute(_DELETE_PARTS, [file_id])
        return True

    async def purge_expired(self, now: int) -> int:
        """Delete expired files of every tenant, with their parts."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_EXPIRED, now)
            if rows:
                await conn.execute(_DELETE_PARTS, [row["id"] for row in rows])
        return len(rows)
