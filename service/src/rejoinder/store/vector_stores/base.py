"""The storage contract of vector stores' metadata: the stores, the files in them, file batches and who
ingests which file (the chunks themselves live in the vector index, `rejoinder.vectors`).

Every vector store belongs to one tenant ("" without API keys); the methods that take `tenant` see only
that tenant's stores, and the files and batches of those. Counts and `usage_bytes` of a store or batch
are computed from its files when read, so every replica sees the same figures.

Ingestion claims work as background responses' heartbeats do: a replica claims `in_progress` files
that nobody holds (or whose holder has not been heard of since `stale_before_ms`), renews its hold
with `heartbeat_files`, and ends each with `finish_file`, which writes only while it still holds the
file (a file deleted, or cancelled with its batch, in the meantime stays as it is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from rejoinder.store.base import Order
from rejoinder.vectors.chunking import ChunkingStrategy
from rejoinder.vectors.filters import AttributeValue

T = TypeVar("T")
FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]
FILE_STATUSES: tuple[FileStatus, ...] = ("in_progress", "completed", "failed", "cancelled")


@dataclass(frozen=True)
class FileCounts:
    """Files by ingestion status."""

    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.in_progress + self.completed + self.failed + self.cancelled


@dataclass(frozen=True)
class NewVectorStore:
    """A vector store as created."""

    id: str
    created_at: int
    name: str
    metadata: Mapping[str, str]
    expires_after_days: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class VectorStoreRow:
    """A stored vector store, with the counts and bytes of its files."""

    id: str
    created_at: int
    name: str
    metadata: Mapping[str, str]
    expires_after_days: int | None
    last_active_at: int
    usage_bytes: int
    counts: FileCounts


@dataclass(frozen=True)
class NewStoreFile:
    """A file to add to a vector store (it starts `in_progress`)."""

    file_id: str
    created_at: int
    chunking: ChunkingStrategy
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True)
class FileError:
    """OpenAI's `last_error`: `code` server_error, unsupported_file or invalid_file."""

    code: str
    message: str


@dataclass(frozen=True)
class StoreFileRow:
    """A file in a vector store."""

    vector_store_id: str
    file_id: str
    created_at: int
    status: FileStatus
    usage_bytes: int
    last_error: FileError | None
    chunking: ChunkingStrategy
    attributes: Mapping[str, AttributeValue]
    batch_id: str | None


@dataclass(frozen=True)
class BatchRow:
    """A file batch, with the counts of its files; `status` derived (cancelled, in_progress while any
    file is, failed when every file failed, else completed)."""

    id: str
    vector_store_id: str
    created_at: int
    status: str
    counts: FileCounts


@dataclass(frozen=True)
class Window:
    """A page request: the `limit` rows that follow `after` (or, alone, precede `before`) in `order`."""

    after: str | None
    before: str | None
    limit: int
    order: Order


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of rows in the requested order, and whether more follow (before it, for a `before` page)."""

    rows: tuple[T, ...]
    has_more: bool


@dataclass(frozen=True)
class StoreUpdate:
    """What an update changes: `None` keeps a field; `expires_after_days` 0 removes the expiry."""

    name: str | None = None
    metadata: Mapping[str, str] | None = None
    expires_after_days: int | None = None


@dataclass(frozen=True)
class Claim:
    """A file this replica now ingests: where it is, how to chunk it, and how many times ingestion of it
    has started (this one included)."""

    tenant: str
    vector_store_id: str
    file_id: str
    chunking: ChunkingStrategy
    attributes: Mapping[str, AttributeValue]
    attempts: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.vector_store_id, self.file_id)


@dataclass(frozen=True)
class Outcome:
    """How an ingestion ended: `completed` with its bytes and chunk texts, or `failed` with `error`."""

    status: Literal["completed", "failed"]
    usage_bytes: int = 0
    chunks: Sequence[str] = ()
    error: FileError | None = None


class VectorStoreStore(Protocol):
    """Vector stores' metadata (SQLite, PostgreSQL: `sql.py`)."""

    async def create_store(
        self, store: NewVectorStore, files: Sequence[NewStoreFile], *, tenant: str, now: int
    ) -> None:
        """Store a new vector store with its first files (`in_progress`), atomically."""
        ...

    async def get_store(self, vector_store_id: str, *, tenant: str) -> VectorStoreRow | None: ...

    async def list_stores(self, window: Window, *, tenant: str) -> Page[VectorStoreRow]:
        """A page of the tenant's stores by creation (an unknown cursor gives an empty page)."""
        ...

    async def update_store(
        self, vector_store_id: str, update: StoreUpdate, *, tenant: str, now: int
    ) -> VectorStoreRow | None:
        """Apply `update` and mark the store active at `now`; None when there is no such store."""
        ...

    async def touch_store(self, vector_store_id: str, *, tenant: str, now: int) -> None:
        """The store was used at `now` (its `last_active_at`, which its expiry counts from)."""
        ...

    async def delete_store(self, vector_store_id: str, *, tenant: str) -> bool:
        """Delete the store, its files' rows and its batches; False when there was none."""
        ...

    async def add_files(
        self,
        vector_store_id: str,
        files: Sequence[NewStoreFile],
        *,
        tenant: str,
        now: int,
        batch_id: str | None = None,
    ) -> bool:
        """Add files (`in_progress`; a file already there starts over with the new attributes and
        chunking), with a new batch `batch_id` when given, atomically; False when there is no store."""
        ...

    async def get_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> StoreFileRow | None: ...

    async def list_files(
        self,
        vector_store_id: str,
        window: Window,
        *,
        tenant: str,
        status: FileStatus | None = None,
        batch_id: str | None = None,
    ) -> Page[StoreFileRow] | None:
        """A page of a store's files (of one batch, with one status) by when they were added; None when
        the store (or batch) does not exist."""
        ...

    async def update_attributes(
        self, vector_store_id: str, file_id: str, attributes: Mapping[str, AttributeValue], *, tenant: str
    ) -> StoreFileRow | None: ...

    async def delete_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> bool: ...

    async def file_content(
        self, vector_store_id: str, file_id: str, *, tenant: str
    ) -> tuple[str, ...] | None:
        """The chunk texts ingestion made of the file (empty before it completed); None: no such file."""
        ...

    async def get_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None: ...

    async def cancel_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None:
        """Mark the batch cancelled and its files still `in_progress` `cancelled`; None: no such batch."""
        ...

    async def claim_files(self, owner: str, *, now_ms: int, stale_before_ms: int, limit: int) -> list[Claim]:
        """Take up to `limit` files `in_progress` that nobody holds, or whose holder (another than
        `owner`) was last heard of before `stale_before_ms`, oldest first; each claim counts as an
        attempt."""
        ...

    async def heartbeat_files(self, owner: str, *, now_ms: int) -> set[tuple[str, str]]:
        """Renew `owner`'s hold on its files still `in_progress`; their (vector_store_id, file_id)."""
        ...

    async def finish_file(self, owner: str, key: tuple[str, str], outcome: Outcome) -> bool:
        """Write how ingestion ended, if `owner` still holds the file and it is `in_progress`."""
        ...

    async def release_files(self, owner: str) -> int:
        """Give up `owner`'s holds (at shutdown, or a restart under the same identity) without counting
        the attempts; how many."""
        ...
