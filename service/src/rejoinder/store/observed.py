"""A store whose every operation is timed (`rejoinder_store_operation_duration_seconds{operation}`) and,
inside a trace, a span (`store {operation}`): the store seam of DESIGN.md section 8. It delegates to the
real store and changes nothing else."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import TypeVar

from rejoinder.observe.observer import Observer
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import InputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.store.base import ChainLink, ItemPage, Order, Store, StoredConversation, TenantResponse

T = TypeVar("T")


class StoreTimer:
    """Times one store operation (`Observer.store_op`) and, inside a trace, makes its span: what every
    observed store (responses, files, prompts) reports the same way."""

    def __init__(self, observer: Observer, system: str = "") -> None:
        """`system`: the database, as OpenTelemetry names it (`sqlite`, `postgresql`), for the spans."""
        self._observer = observer
        self._system = system

    async def __call__(self, operation: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        described = {"db.operation.name": operation, "db.system.name": self._system}
        with self._observer.span(f"store {operation}", described, nested=True):
            try:
                return await work
            finally:
                self._observer.store_op(operation, time.perf_counter() - started)


class ObservedStore:
    """`Store` over another, reporting each operation's time to the observer."""

    def __init__(self, store: Store, observer: Observer, system: str = "") -> None:
        """`system`: the database, as OpenTelemetry names it (`sqlite`, `postgresql`), for the spans."""
        self._store = store
        self._timed = StoreTimer(observer, system)

    async def save(self, response: Response, input_items: Sequence[InputItem], *, tenant: str = "") -> None:
        await self._timed("save", self._store.save(response, input_items, tenant=tenant))

    async def get(self, response_id: str, *, tenant: str = "") -> Response | None:
        return await self._timed("get", self._store.get(response_id, tenant=tenant))

    async def delete(self, response_id: str, *, tenant: str = "") -> bool:
        return await self._timed("delete", self._store.delete(response_id, tenant=tenant))

    async def list_input_items(
        self,
        response_id: str,
        *,
        after: str | None,
        before: str | None,
        limit: int,
        order: Order,
        tenant: str = "",
    ) -> ItemPage | None:
        page = self._store.list_input_items(
            response_id, after=after, before=before, limit=limit, order=order, tenant=tenant
        )
        return await self._timed("list_input_items", page)

    async def load_chain(self, response_id: str, *, tenant: str = "") -> tuple[ChainLink, ...] | None:
        return await self._timed("load_chain", self._store.load_chain(response_id, tenant=tenant))

    async def append_events(self, response_id: str, events: Sequence[ResponseStreamEvent]) -> None:
        await self._timed("append_events", self._store.append_events(response_id, events))

    async def load_events(self, response_id: str, after: int = -1) -> tuple[ResponseStreamEvent, ...]:
        return await self._timed("load_events", self._store.load_events(response_id, after))

    async def heartbeat(self, owner: str, response_ids: Sequence[str], now_ms: int) -> frozenset[str]:
        return await self._timed("heartbeat", self._store.heartbeat(owner, response_ids, now_ms))

    async def request_cancel(self, response_id: str) -> None:
        await self._timed("request_cancel", self._store.request_cancel(response_id))

    async def stale(self, before_ms: int, *, owner: str | None = None) -> tuple[TenantResponse, ...]:
        return await self._timed("stale", self._store.stale(before_ms, owner=owner))

    async def ping(self) -> None:
        await self._store.ping()  # not timed: a readiness check every few seconds is not a store operation

    async def close(self) -> None:
        await self._store.close()

    async def create_conversation(
        self, conversation: StoredConversation, items: Sequence[InputItem], *, tenant: str = ""
    ) -> None:
        await self._timed(
            "create_conversation", self._store.create_conversation(conversation, items, tenant=tenant)
        )

    async def get_conversation(self, conversation_id: str, *, tenant: str = "") -> StoredConversation | None:
        return await self._timed(
            "get_conversation", self._store.get_conversation(conversation_id, tenant=tenant)
        )

    async def update_conversation(
        self, conversation_id: str, metadata: Mapping[str, str], *, tenant: str = ""
    ) -> StoredConversation | None:
        updated = self._store.update_conversation(conversation_id, metadata, tenant=tenant)
        return await self._timed("update_conversation", updated)

    async def delete_conversation(self, conversation_id: str, *, tenant: str = "") -> bool:
        return await self._timed(
            "delete_conversation", self._store.delete_conversation(conversation_id, tenant=tenant)
        )

    async def add_conversation_items(
        self, conversation_id: str, items: Sequence[InputItem], *, tenant: str = ""
    ) -> bool:
        added = self._store.add_conversation_items(conversation_id, items, tenant=tenant)
        return await self._timed("add_conversation_items", added)

    async def conversation_items(
        self, conversation_id: str, *, tenant: str = ""
    ) -> tuple[InputItem, ...] | None:
        return await self._timed(
            "conversation_items", self._store.conversation_items(conversation_id, tenant=tenant)
        )

    async def list_conversation_items(
        self, conversation_id: str, *, after: str | None, limit: int, order: Order, tenant: str = ""
    ) -> ItemPage | None:
        page = self._store.list_conversation_items(
            conversation_id, after=after, limit=limit, order=order, tenant=tenant
        )
        return await self._timed("list_conversation_items", page)

    async def get_conversation_item(
        self, conversation_id: str, item_id: str, *, tenant: str = ""
    ) -> InputItem | None:
        item = self._store.get_conversation_item(conversation_id, item_id, tenant=tenant)
        return await self._timed("get_conversation_item", item)

    async def delete_conversation_item(self, conversation_id: str, item_id: str, *, tenant: str = "") -> bool:
        gone = self._store.delete_conversation_item(conversation_id, item_id, tenant=tenant)
        return await self._timed("delete_conversation_item", gone)
