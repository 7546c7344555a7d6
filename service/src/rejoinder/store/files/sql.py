"""The SQL of the file stores, written once with `?` marks; `numbered` makes PostgreSQL's `$n` of it."""

from __future__ import annotations

import itertools
import re
from typing import Any

from rejoinder.store.base import Order
from rejoinder.store.files.base import StoredFile

COLUMNS = "id, filename, purpose, created_at, expires_at, bytes, sha256"
LIVE = "(expires_at IS NULL OR expires_at > ?)"
INSERT = f"INSERT INTO files ({COLUMNS}, tenant) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
GET = f"SELECT {COLUMNS} FROM files WHERE id = ? AND tenant = ? AND {LIVE}"
CURSOR = "SELECT created_at FROM files WHERE id = ? AND tenant = ?"
DELETE = "DELETE FROM files WHERE id = ? AND tenant = ? RETURNING sha256"
USERS = "SELECT count(*) FROM files WHERE sha256 = ?"
EXPIRED = "DELETE FROM files WHERE expires_at <= ? RETURNING id, sha256"


def numbered(query: str) -> str:
    """`?` marks as `$1`, `$2`, ... (PostgreSQL)."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", query)


def page(order: Order, *, after: bool, purpose: bool) -> str:
    """A page of a tenant's live files. Parameters: tenant, now, [created_at, id of `after`], [purpose],
    limit (one more than the page, to tell whether more follow)."""
    direction = "ASC" if order == "asc" else "DESC"
    where = ["tenant = ?", LIVE]
    if after:
        where.append(f"(created_at, id) {'>' if order == 'asc' else '<'} (?, ?)")
    if purpose:
        where.append("purpose = ?")
    return (
        f"SELECT {COLUMNS} FROM files WHERE {' AND '.join(where)} "
        f"ORDER BY created_at {direction}, id {direction} LIMIT ?"
    )


def row_of(file: StoredFile, tenant: str) -> tuple[object, ...]:
    """The INSERT parameters of a file."""
    return (
        file.id,
        file.filename,
        file.purpose,
        file.created_at,
        file.expires_at,
        file.bytes,
        file.sha256,
        tenant,
    )


def file_of(row: Any) -> StoredFile:
    """A file from a row of `COLUMNS` (an SQLite tuple or an asyncpg record)."""
    id_, filename, purpose, created_at, expires_at, size, sha256 = tuple(row)
    return StoredFile(
        id=str(id_),
        filename=str(filename),
        purpose=str(purpose),
        created_at=int(created_at),
        expires_at=None if expires_at is None else int(expires_at),
        bytes=int(size),
        sha256=str(sha256),
    )
