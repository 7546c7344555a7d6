"""The typed `ConversationsService`: call the core for the caller's tenant, map errors. No logic here."""

from __future__ import annotations

import grpc

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import abort
from rejoinder.core.conversations import ConversationsCore
from rejoinder.errors import ApiError
from rejoinder.responses.v1 import conversations_service_pb2 as pb
from rejoinder.responses.v1 import conversations_service_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[object, object]


class ConversationsServicer(pb_grpc.ConversationsServiceServicer):
    """gRPC handlers over the conversations core."""

    def __init__(self, core: ConversationsCore, auth: Authenticator) -> None:
        self._core = core
        self._auth = auth

    def _tenant(self, context: Context) -> str:
        return self._auth.tenant_of(context)

    async def CreateConversation(
        self, request: pb.CreateConversationRequest, context: Context
    ) -> pb.CreateConversationResponse:
        """A new conversation."""
        try:
            made = await self._core.create(request, tenant=self._tenant(context))
            return pb.CreateConversationResponse(conversation=made)
        except ApiError as err:
            await abort(context, err)
            raise

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: Context
    ) -> pb.GetConversationResponse:
        """A conversation."""
        try:
            found = await self._core.get(request.conversation_id, tenant=self._tenant(context))
            return pb.GetConversationResponse(conversation=found)
        except ApiError as err:
            await abort(context, err)
            raise

    async def UpdateConversation(
        self, request: pb.UpdateConversationRequest, context: Context
    ) -> pb.UpdateConversationResponse:
        """New metadata."""
        try:
            updated = await self._core.update(request, tenant=self._tenant(context))
            return pb.UpdateConversationResponse(conversation=updated)
        except ApiError as err:
            await abort(context, err)
            raise

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: Context
    ) -> pb.DeleteConversationResponse:
        """Delete a conversation."""
        try:
            return await self._core.delete(request.conversation_id, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def CreateConversationItems(
        self, request: pb.CreateConversationItemsRequest, context: Context
    ) -> pb.CreateConversationItemsResponse:
        """Append items."""
        try:
            return await self._core.add_items(request, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def ListConversationItems(
        self, request: pb.ListConversationItemsRequest, context: Context
    ) -> pb.ListConversationItemsResponse:
        """A page of items."""
        try:
            return await self._core.list_items(request, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def GetConversationItem(
        self, request: pb.GetConversationItemRequest, context: Context
    ) -> pb.GetConversationItemResponse:
        """One item."""
        try:
            tenant = self._tenant(context)
            item = await self._core.get_item(request.conversation_id, request.item_id, tenant=tenant)
            return pb.GetConversationItemResponse(item=item)
        except ApiError as err:
            await abort(context, err)
            raise

    async def DeleteConversationItem(
        self, request: pb.DeleteConversationItemRequest, context: Context
    ) -> pb.DeleteConversationItemResponse:
        """Delete one item."""
        try:
            tenant = self._tenant(context)
            left = await self._core.delete_item(request.conversation_id, request.item_id, tenant=tenant)
            return pb.DeleteConversationItemResponse(conversation=left)
        except ApiError as err:
            await abort(context, err)
            raise
