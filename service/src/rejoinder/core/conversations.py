"""Conversations: lists of items that responses read as context and append to (OpenAI's Conversations API).

Both surfaces call `ConversationsCore`; every method acts for one tenant. Items are checked and given IDs
as response input is; a response created with `conversation` reads them through `items_of` and appends
its input and output through `append` once it ends.
"""

from __future__ import annotations

from collections.abc import Sequence

from rejoinder.core.checks.items import check_input_items, expand_input
from rejoinder.core.checks.validation import check_metadata
from rejoinder.core.clock import Clock
from rejoinder.core.context.assemble import with_id
from rejoinder.core.ids import IdGenerator
from rejoinder.core.pages import page_args
from rejoinder.errors import ApiError, clip, invalid, not_found, too_many
from rejoinder.responses.v1 import conversations_service_pb2 as pb
from rejoinder.responses.v1.items_pb2 import Input, InputItem, InputItemList
from rejoinder.store.base import ConversationStore, StoredConversation
from rejoinder.store.items import item_id

MAX_ITEMS_PER_CALL = 20


def missing_conversation(conversation_id: str, param: str = "conversation_id") -> ApiError:
    """The 404 of a conversation that does not exist (or is another tenant's)."""
    return not_found(f"Conversation with id '{clip(conversation_id)}' not found.", param=param)


def _as_proto(stored: StoredConversation) -> pb.Conversation:
    return pb.Conversation(
        id=stored.id, object="conversation", created_at=stored.created_at, metadata=dict(stored.metadata)
    )


class ConversationsCore:
    """Conversations of every tenant, in one store."""

    def __init__(self, store: ConversationStore, ids: IdGenerator, clock: Clock) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock

    def _new_items(self, items: Sequence[InputItem], param: str) -> tuple[InputItem, ...]:
        """Checked, expanded items with IDs; raises 400."""
        if len(items) > MAX_ITEMS_PER_CALL:
            raise too_many(len(items), MAX_ITEMS_PER_CALL, param)
        expanded = expand_input(Input(items=InputItemList(items=items)))
        check_input_items(expanded, param)
        for i, item in enumerate(expanded):
            if item.WhichOneof("item") == "item_reference":
                raise invalid("Item references cannot be added to a conversation.", param=f"{param}[{i}]")
            if item.WhichOneof("item") == "compaction_trigger":  # a create's request marker, no item
                raise invalid("A compaction_trigger cannot join a conversation.", param=f"{param}[{i}]")
        with_ids = tuple(with_id(item, self._ids) for item in expanded)
        for i, item in enumerate(with_ids):
            if not item_id(item):
                raise invalid(f"Missing required parameter: '{param}[{i}].id'.", param=f"{param}[{i}].id")
        return with_ids

    async def create(self, req: pb.CreateConversationRequest, *, tenant: str = "") -> pb.Conversation:
        """A new conversation with its first items. Raises 400."""
        check_metadata(req.metadata)
        items = self._new_items(req.items, "items")
        stored = StoredConversation(self._ids.new("conv"), int(self._clock.now()), dict(req.metadata))
        await self._store.create_conversation(stored, items, tenant=tenant)
        return _as_proto(stored)

    async def get(self, conversation_id: str, *, tenant: str = "") -> pb.Conversation:
        """Raises 404."""
        stored = await self._store.get_conversation(conversation_id, tenant=tenant)
        if stored is None:
            raise missing_conversation(conversation_id)
        return _as_proto(stored)

    async def update(self, req: pb.UpdateConversationRequest, *, tenant: str = "") -> pb.Conversation:
        """Replace the metadata. Raises 400 or 404."""
        check_metadata(req.metadata)
        stored = await self._store.update_conversation(req.conversation_id, dict(req.metadata), tenant=tenant)
        if stored is None:
            raise missing_conversation(req.conversation_id)
        return _as_proto(stored)

    async def delete(self, conversation_id: str, *, tenant: str = "") -> pb.DeleteConversationResponse:
        """Raises 404."""
        if not await self._store.delete_conversation(conversation_id, tenant=tenant):
            raise missing_conversation(conversation_id)
        return pb.DeleteConversationResponse(id=conversation_id, object="conversation.deleted", deleted=True)

    async def add_items(
        self, req: pb.CreateConversationItemsRequest, *, tenant: str = ""
    ) -> pb.CreateConversationItemsResponse:
        """Append items; the list of those added, with their IDs. Raises 400 or 404."""
        items = self._new_items(req.items, "items")
        if not await self._store.add_conversation_items(req.conversation_id, items, tenant=tenant):
            raise missing_conversation(req.conversation_id)
        out = pb.CreateConversationItemsResponse(object="list", data=items, has_more=False)
        if items:
            out.first_id, out.last_id = item_id(items[0]), item_id(items[-1])
        return out

    async def list_items(
        self, req: pb.ListConversationItemsRequest, *, tenant: str = ""
    ) -> pb.ListConversationItemsResponse:
        """A page of items. Raises 400 or 404."""
        limit, order = page_args(
            req.limit if req.HasField("limit") else None, req.order if req.HasField("order") else None
        )
        page = await self._store.list_conversation_items(
            req.conversation_id,
            after=req.after if req.HasField("after") else None,
            limit=limit,
            order=order,
            tenant=tenant,
        )
        if page is None:
            raise missing_conversation(req.conversation_id)
        out = pb.ListConversationItemsResponse(object="list", data=page.items, has_more=page.has_more)
        if page.items:
            out.first_id, out.last_id = item_id(page.items[0]), item_id(page.items[-1])
        return out

    async def get_item(self, conversation_id: str, wanted: str, *, tenant: str = "") -> InputItem:
        """Raises 404."""
        found = await self._store.get_conversation_item(conversation_id, wanted, tenant=tenant)
        if found is None:
            await self.get(conversation_id, tenant=tenant)  # which one is missing
            raise not_found(f"Item with id '{clip(wanted)}' not found.", param="item_id")
        return found

    async def delete_item(self, conversation_id: str, wanted: str, *, tenant: str = "") -> pb.Conversation:
        """Remove one item; the conversation. Raises 404."""
        if not await self._store.delete_conversation_item(conversation_id, wanted, tenant=tenant):
            await self.get(conversation_id, tenant=tenant)
            raise not_found(f"Item with id '{clip(wanted)}' not found.", param="item_id")
        return await self.get(conversation_id, tenant=tenant)
