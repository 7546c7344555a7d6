"""The storage contract of uploaded files: their metadata and their bytes, per tenant.

Where the bytes live is the store's business: SQLite deployments keep them in the data directory,
content-addressed and deduplicated (`blob_dir.py`); PostgreSQL deployments in the database itself, in
parts of about 1 MiB, where every replica can read them (`postgres.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from rejoinder.store.base import Order


@dataclass(frozen=True)
class NewFile:
    """What an upload says about a file before its bytes arrive."""

    id: str
    filename: str
    purpose: str
    created_at: int
    expires_at: int | None = None


@dataclass(frozen=True)
class StoredFile:
    """A stored file's metadata: `bytes` its size and `sha256` the hex digest of its bytes."""

    id: str
    filename: str
    purpose: str
    created_at: int
    expires_at: int | None
    bytes: int
    sha256: str


def stored_file(file: NewFile, size: int, sha256: str) -> StoredFile:
    """The stored file of a new one whose bytes are in."""
    return StoredFile(
        id=file.id,
        filename=file.filename,
        purpose=file.purpose,
        created_at=file.created_at,
        expires_at=file.expires_at,
        bytes=size,
        sha256=sha256,
    )


@dataclass(frozen=True)
class FilePage:
    """A page of files in the requested order, and whether more follow."""

    files: tuple[StoredFile, ...]
    has_more: bool


Describe = Callable[[], NewFile]
"""What the stored bytes are: asked for once they are all in (an upload's fields may follow its bytes)."""


class FileStore(Protocol):
    """Where files live. Every file belongs to one tenant ("" without API keys); the methods that take
    `tenant` see only that tenant's files. A file whose `expires_at` is not after `now` is as if it did
    not exist (and `purge_expired` deletes it)."""

    async def create_file(
        self, file_id: str, content: AsyncIterable[bytes], describe: Describe, *, tenant: str = ""
    ) -> StoredFile:
        """Store the bytes `content` yields, then the file `describe()` (called once `content` is
        exhausted) says they are, atomically: a reader sees all of it or nothing. When `content` or
        `describe` raises, nothing is kept and the error propagates. `file_id` must be new."""
        ...

    async def get_file(self, file_id: str, *, now: int, tenant: str = "") -> StoredFile | None:
        """The file, or None."""
        ...

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
        """A page of the tenant's files by `created_at` (then ID): the `limit` that follow the file
        `after` (one that is not the tenant's gives an empty page), only those of `purpose` when given."""
        ...

    def read_file(self, file: StoredFile) -> AsyncIterator[bytes]:
        """The bytes of a file `get_file` returned, in chunks; FileNotFoundError when they are gone."""
        ...

    async def delete_file(self, file_id: str, *, tenant: str = "") -> bool:
        """Delete the file, and its bytes when no other file has the same; False when there was none."""
        ...

    async def purge_expired(self, now: int) -> int:
        """Delete every file (of any tenant) expired at `now`; how many."""
        ...
