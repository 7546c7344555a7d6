"""The conversations' REST routes (`OpenAIHttpService`'s *Conversation* RPCs, OpenAI's
`/v1/conversations` paths), over the conversations core. `OpenAIHttpServicer` hands these calls here."""

from __future__ import annotations

from google.api.httpbody_pb2 import HttpBody

from rejoinder.api.auth import Authenticator
from rejoinder.api.rest.replies import Context, read_body, unary
from rejoinder.core.conversations import MAX_ITEMS_PER_CALL, ConversationsCore
from rejoinder.responses.v1 import conversations_service_pb2 as cv
from rejoinder.responses.v1 import openai_http_pb2 as http
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.raw_body import RawBody

ARRAYS = {"items": MAX_ITEMS_PER_CALL}  # refused over it before one item is decoded


class ConversationRoutes:
    """HttpBody handlers of the conversations."""

    def __init__(self, core: ConversationsCore, codec: OpenAIJson, auth: Authenticator) -> None:
        self._core = core
        self._codec = codec
        self._auth = auth

    async def create(self, request: HttpBody | RawBody, context: Context) -> HttpBody:
        """POST /v1/conversations."""

        async def produce() -> object:
            req = await read_body(self._codec, request, cv.CreateConversationRequest, ARRAYS)
            return self._codec.encode(await self._core.create(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def get(self, request: http.HttpConversationIdRequest, context: Context) -> HttpBody:
        """GET /v1/conversations/{id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            return self._codec.encode(await self._core.get(request.conversation_id, tenant=tenant))

        return await unary(context, produce)

    async def update(self, request: http.HttpConversationBodyRequest, context: Context) -> HttpBody:
        """POST /v1/conversations/{id}: new metadata."""

        async def produce() -> object:
            req = await read_body(self._codec, request.body, cv.UpdateConversationRequest, ARRAYS)
            req.conversation_id = request.conversation_id
            return self._codec.encode(await self._core.update(req, tenant=self._auth.tenant_of(context)))

        return await unary(context, produce)

    async def delete(self, request: http.HttpConversationIdRequest, context: Context) -> HttpBody:
        """DELETE /v1/conversations/{id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            return self._codec.encode(await self._core.delete(request.conversation_id, tenant=tenant))

        return await unary(context, produce)

    async def add_items(self, request: http.HttpConversationBodyRequest, context: Context) -> HttpBody:
        """POST /v1/conversations/{id}/items."""

        async def produce() -> object:
            req = await read_body(self._codec, request.body, cv.CreateConversationItemsRequest, ARRAYS)
            req.conversation_id = request.conversation_id
            added = await self._core.add_items(req, tenant=self._auth.tenant_of(context))
            return self._codec.encode(added)

        return await unary(context, produce)

    async def list_items(self, request: http.HttpListConversationItemsRequest, context: Context) -> HttpBody:
        """GET /v1/conversations/{id}/items."""

        async def produce() -> object:
            req = cv.ListConversationItemsRequest(conversation_id=request.conversation_id)
            if request.after:
                req.after = request.after
            if request.limit:
                req.limit = request.limit
            if request.order:
                req.order = request.order
            page = await self._core.list_items(req, tenant=self._auth.tenant_of(context))
            return self._codec.encode(page)

        return await unary(context, produce)

    async def get_item(self, request: http.HttpConversationItemRequest, context: Context) -> HttpBody:
        """GET /v1/conversations/{id}/items/{item_id}."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            item = await self._core.get_item(request.conversation_id, request.item_id, tenant=tenant)
            return self._codec.encode(item)

        return await unary(context, produce)

    async def delete_item(self, request: http.HttpConversationItemRequest, context: Context) -> HttpBody:
        """DELETE /v1/conversations/{id}/items/{item_id}: the conversation."""

        async def produce() -> object:
            tenant = self._auth.tenant_of(context)
            left = await self._core.delete_item(request.conversation_id, request.item_id, tenant=tenant)
            return self._codec.encode(left)

        return await unary(context, produce)
