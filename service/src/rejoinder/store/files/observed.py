"""A file store whose every operation is timed and traced like the response store's (`observed.py`):
`rejoinder_store_operation_duration_seconds{operation}` and a `store {operation}` span."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

from rejoinder.observe.observer import Observer
from rejoinder.store.base import Order
from rejoinder.store.files.base import Describe, FilePage, FileStore, StoredFile
from rejoinder.store.observed import StoreTimer

T = TypeVar("T")


class ObservedFileStore:
    """`FileStore` over another, reporting each operation's time to the observer."""

    def __init__(self, files: FileStore, observer: Observer, system: str = "") -> None:
        """`system`: the database, as OpenTelemetry names it (`sqlite`, `postgresql`), for the spans."""
        self._files = files
        self._timed = StoreTimer(observer, system)

    async def create_file(
        self, file_id: str, content: AsyncIterable[bytes], describe: Describe, *, tenant: str = ""
    ) -> StoredFile:
        created = self._files.create_file(file_id, content, describe, tenant=tenant)
        return await self._timed("create_file", created)

    async def get_file(self, file_id: str, *, now: int, tenant: str = "") -> StoredFile | None:
        return await self._timed("get_file", self._files.get_file(file_id, now=now, tenant=tenant))

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
        page = self._files.list_files(
            after=after, limit=limit, order=order, purpose=purpose, now=now, tenant=tenant
        )
        return await self._timed("list_files", page)

    def read_file(self, file: StoredFile) -> AsyncIterator[bytes]:
        return self._files.read_file(file)  # a stream: its time is the caller's

    async def delete_file(self, file_id: str, *, tenant: str = "") -> bool:
        return await self._timed("delete_file", self._files.delete_file(file_id, tenant=tenant))

    async def purge_expired(self, now: int) -> int:
        return await self._timed("purge_expired_files", self._files.purge_expired(now))
