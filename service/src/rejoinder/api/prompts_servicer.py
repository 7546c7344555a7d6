"""The typed `PromptsService`: call the core for the caller's tenant, map errors. No logic here."""

from __future__ import annotations

import grpc

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import abort
from rejoinder.core.prompts.templates import PromptsCore
from rejoinder.errors import ApiError
from rejoinder.responses.v1 import prompts_service_pb2 as pb
from rejoinder.responses.v1 import prompts_service_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[object, object]


class PromptsServicer(pb_grpc.PromptsServiceServicer):
    """gRPC handlers over the prompt templates core."""

    def __init__(self, core: PromptsCore, auth: Authenticator) -> None:
        self._core = core
        self._auth = auth

    def _tenant(self, context: Context) -> str:
        return self._auth.tenant_of(context)

    async def CreatePrompt(
        self, request: pb.CreatePromptRequest, context: Context
    ) -> pb.CreatePromptResponse:
        """A new template."""
        try:
            return pb.CreatePromptResponse(
                prompt=await self._core.create(request, tenant=self._tenant(context))
            )
        except ApiError as err:
            await abort(context, err)
            raise

    async def GetPrompt(self, request: pb.GetPromptRequest, context: Context) -> pb.GetPromptResponse:
        """One version of a template."""
        try:
            return pb.GetPromptResponse(prompt=await self._core.get(request, tenant=self._tenant(context)))
        except ApiError as err:
            await abort(context, err)
            raise

    async def ListPrompts(self, request: pb.ListPromptsRequest, context: Context) -> pb.ListPromptsResponse:
        """A page of templates."""
        try:
            return await self._core.list(request, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def UpdatePrompt(
        self, request: pb.UpdatePromptRequest, context: Context
    ) -> pb.UpdatePromptResponse:
        """A template's next version."""
        try:
            return pb.UpdatePromptResponse(
                prompt=await self._core.update(request, tenant=self._tenant(context))
            )
        except ApiError as err:
            await abort(context, err)
            raise

    async def DeletePrompt(
        self, request: pb.DeletePromptRequest, context: Context
    ) -> pb.DeletePromptResponse:
        """Delete a template."""
        try:
            return await self._core.delete(request.prompt_id, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def ListPromptVersions(
        self, request: pb.ListPromptVersionsRequest, context: Context
    ) -> pb.ListPromptVersionsResponse:
        """Every version of a template."""
        try:
            return await self._core.versions(request.prompt_id, tenant=self._tenant(context))
        except ApiError as err:
            await abort(context, err)
            raise

    async def SetDefaultVersion(
        self, request: pb.SetDefaultVersionRequest, context: Context
    ) -> pb.SetDefaultVersionResponse:
        """Make a version the default."""
        try:
            found = await self._core.set_default(request, tenant=self._tenant(context))
            return pb.SetDefaultVersionResponse(prompt=found)
        except ApiError as err:
            await abort(context, err)
            raise
