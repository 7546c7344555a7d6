"""A vector-store metadata store whose every operation is timed and traced like the response store's
(`store/observed.py`): `rejoinder_store_operation_duration_seconds{operation}` and a `store {operation}`
span. Its operations are named after the vector-store objects they touch (`get_vector_store_file`), so
that none shares a label with the Files API's store (`get_file`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rejoinder.observe.observer import Observer
from rejoinder.store.observed import StoreTimer
from rejoinder.store.vector_stores.base import (
    BatchRow,
    Claim,
    FileStatus,
    NewStoreFile,
    NewVectorStore,
    Outcome,
    Page,
    StoreFileRow,
    StoreUpdate,
    VectorStoreRow,
    VectorStoreStore,
    Window,
)
from rejoinder.vectors.filters import AttributeValue


class ObservedVectorStoreStore:
    """`VectorStoreStore` over another, reporting each operation's time to the observer."""

    def __init__(self, stores: VectorStoreStore, observer: Observer, system: str = "") -> None:
        """`system`: the database, as OpenTelemetry names it (`sqlite`, `postgresql`), for the spans."""
        self._stores = stores
        self._timed = StoreTimer(observer, system)

    async def create_store(
        self, store: NewVectorStore, files: Sequence[NewStoreFile], *, tenant: str, now: int
    ) -> None:
        created = self._stores.create_store(store, files, tenant=tenant, now=now)
        await self._timed("create_vector_store", created)

    async def get_store(self, vector_store_id: str, *, tenant: str) -> VectorStoreRow | None:
        return await self._timed("get_vector_store", self._stores.get_store(vector_store_id, tenant=tenant))

    async def list_stores(self, window: Window, *, tenant: str) -> Page[VectorStoreRow]:
        return await self._timed("list_vector_stores", self._stores.list_stores(window, tenant=tenant))

    async def update_store(
        self, vector_store_id: str, update: StoreUpdate, *, tenant: str, now: int
    ) -> VectorStoreRow | None:
        updated = self._stores.update_store(vector_store_id, update, tenant=tenant, now=now)
        return await self._timed("update_vector_store", updated)

    async def touch_store(self, vector_store_id: str, *, tenant: str, now: int) -> None:
        touched = self._stores.touch_store(vector_store_id, tenant=tenant, now=now)
        await self._timed("touch_vector_store", touched)

    async def delete_store(self, vector_store_id: str, *, tenant: str) -> bool:
        gone = self._stores.delete_store(vector_store_id, tenant=tenant)
        return await self._timed("delete_vector_store", gone)

    async def add_files(
        self,
        vector_store_id: str,
        files: Sequence[NewStoreFile],
        *,
        tenant: str,
        now: int,
        batch_id: str | None = None,
    ) -> bool:
        added = self._stores.add_files(vector_store_id, files, tenant=tenant, now=now, batch_id=batch_id)
        return await self._timed("add_vector_store_files", added)

    async def get_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> StoreFileRow | None:
        found = self._stores.get_file(vector_store_id, file_id, tenant=tenant)
        return await self._timed("get_vector_store_file", found)

    async def list_files(
        self,
        vector_store_id: str,
        window: Window,
        *,
        tenant: str,
        status: FileStatus | None = None,
        batch_id: str | None = None,
    ) -> Page[StoreFileRow] | None:
        page = self._stores.list_files(
            vector_store_id, window, tenant=tenant, status=status, batch_id=batch_id
        )
        return await self._timed("list_vector_store_files", page)

    async def update_attributes(
        self, vector_store_id: str, file_id: str, attributes: Mapping[str, AttributeValue], *, tenant: str
    ) -> StoreFileRow | None:
        updated = self._stores.update_attributes(vector_store_id, file_id, attributes, tenant=tenant)
        return await self._timed("update_vector_store_file_attributes", updated)

    async def delete_file(self, vector_store_id: str, file_id: str, *, tenant: str) -> bool:
        gone = self._stores.delete_file(vector_store_id, file_id, tenant=tenant)
        return await self._timed("delete_vector_store_file", gone)

    async def file_content(
        self, vector_store_id: str, file_id: str, *, tenant: str
    ) -> tuple[str, ...] | None:
        content = self._stores.file_content(vector_store_id, file_id, tenant=tenant)
        return await self._timed("vector_store_file_content", content)

    async def get_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None:
        found = self._stores.get_batch(vector_store_id, batch_id, tenant=tenant)
        return await self._timed("get_vector_store_file_batch", found)

    async def cancel_batch(self, vector_store_id: str, batch_id: str, *, tenant: str) -> BatchRow | None:
        cancelled = self._stores.cancel_batch(vector_store_id, batch_id, tenant=tenant)
        return await self._timed("cancel_vector_store_file_batch", cancelled)

    async def claim_files(self, owner: str, *, now_ms: int, stale_before_ms: int, limit: int) -> list[Claim]:
        claimed = self._stores.claim_files(owner, now_ms=now_ms, stale_before_ms=stale_before_ms, limit=limit)
        return await self._timed("claim_vector_store_files", claimed)

    async def heartbeat_files(self, owner: str, *, now_ms: int) -> set[tuple[str, str]]:
        held = self._stores.heartbeat_files(owner, now_ms=now_ms)
        return await self._timed("heartbeat_vector_store_files", held)

    async def finish_file(self, owner: str, key: tuple[str, str], outcome: Outcome) -> bool:
        finished = self._stores.finish_file(owner, key, outcome)
        return await self._timed("finish_vector_store_file", finished)

    async def release_files(self, owner: str) -> int:
        return await self._timed("release_vector_store_files", self._stores.release_files(owner))
