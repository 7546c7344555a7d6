"""`FileStore` for SQLite deployments: metadata in the SQLite store's database, bytes in a
content-addressed directory beside it (`blob_dir.py`).

A blob is put in place and its file row inserted inside one write transaction, and a file row is
deleted and its blob removed (when no other row names it) inside another: SQLite's write lock orders
the two across every process that shares the database (`serve --workers N`), so a blob is never removed
while a new file comes to name it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterable, AsyncIterator

from rejoinder.store.base import Order
from rejoinder.store.files import sql as q
from rejoinder.store.files.base import Describe, FilePage, StoredFile
from rejoinder.store.files.base import stored_file as _stored
from rejoinder.store.files.blob_dir import BlobDir, Staged
from rejoinder.store.sqlite import SqliteStore
from rejoinder.store.sqlite_ops import transaction


def _insert(conn: sqlite3.Connection, blobs: BlobDir, staged: Staged, file: StoredFile, tenant: str) -> None:
    with transaction(conn, "IMMEDIATE"):
        conn.execute(q.INSERT, q.row_of(file, tenant))  # first: a refused row leaves the blobs alone
        blobs.commit(staged)


def _get(conn: sqlite3.Connection, file_id: str, tenant: str, now: int) -> StoredFile | None:
    row = conn.execute(q.GET, (file_id, tenant, now)).fetchone()
    return None if row is None else q.file_of(row)


def _page(  # noqa: PLR0913 - the page's parameters, as the protocol names them
    conn: sqlite3.Connection,
    tenant: str,
    after: str | None,
    limit: int,
    order: Order,
    purpose: str | None,
    now: int,
) -> FilePage:
    params: list[object] = [tenant, now]
    with transaction(conn):
        if after is not None:
            cursor = conn.execute(q.CURSOR, (after, tenant)).fetchone()
            if cursor is None:
                return FilePage((), has_more=False)
            params += [cursor[0], after]
        if purpose is not None:
            params.append(purpose)
        query = q.page(order, after=after is not None, purpose=purpose is not None)
        rows = conn.execute(query, (*params, limit + 1)).fetchall()
    return FilePage(tuple(q.file_of(row) for row in rows[:limit]), has_more=len(rows) > limit)


def _unreferenced(conn: sqlite3.Connection, blobs: BlobDir, sha256: str) -> None:
    (users,) = conn.execute(q.USERS, (sha256,)).fetchone()
    if users == 0:
        blobs.remove(sha256)


def _delete(conn: sqlite3.Connection, blobs: BlobDir, file_id: str, tenant: str) -> bool:
    with transaction(conn, "IMMEDIATE"):
        row = conn.execute(q.DELETE, (file_id, tenant)).fetchone()
        if row is None:
            return False
        _unreferenced(conn, blobs, row[0])
    return True


def _purge(conn: sqlite3.Connection, blobs: BlobDir, now: int) -> int:
    with transaction(conn, "IMMEDIATE"):
        rows = conn.execute(q.EXPIRED, (now,)).fetchall()
        for sha256 in {row[1] for row in rows}:
            _unreferenced(conn, blobs, sha256)
    return len(rows)


class SqliteFileStore:
    """Files of a `SqliteStore`, their bytes under `blobs`."""

    def __init__(self, store: SqliteStore, blobs: BlobDir) -> None:
        self._store = store
        self._blobs = blobs

    async def create_file(
        self, file_id: str, content: AsyncIterable[bytes], describe: Describe, *, tenant: str = ""
    ) -> StoredFile:
        """Stage the bytes, then put them in place and insert the file in one transaction."""
        staged = await self._blobs.stage(content)
        try:
            stored = _stored(describe(), staged.size, staged.sha256)
            await self._store.run(_insert, self._blobs, staged, stored, tenant)
        except BaseException:
            await asyncio.to_thread(self._blobs.discard, staged)
            raise
        return stored

    async def get_file(self, file_id: str, *, now: int, tenant: str = "") -> StoredFile | None:
        """The tenant's live file, or None."""
        return await self._store.run(_get, file_id, tenant, now)

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
        """A page of the tenant's live files."""
        return await self._store.run(_page, tenant, after, limit, order, purpose, now)

    def read_file(self, file: StoredFile) -> AsyncIterator[bytes]:
        """The file's blob, in chunks."""
        return self._blobs.read(file.sha256)

    async def delete_file(self, file_id: str, *, tenant: str = "") -> bool:
        """Delete the row, and the blob when no other row names it."""
        return await self._store.run(_delete, self._blobs, file_id, tenant)

    async def purge_expired(self, now: int) -> int:
        """Delete expired files of every tenant (and the blobs no file names any more)."""
        return await self._store.run(_purge, self._blobs, now)
