"""The typed `ModelsService`: call the models core for an authenticated caller, map errors. No logic here."""

from __future__ import annotations

import grpc

from rejoinder.api.auth import Authenticator
from rejoinder.api.errors import abort
from rejoinder.core.models import get_model, list_models
from rejoinder.errors import ApiError
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1 import models_service_pb2 as pb
from rejoinder.responses.v1 import models_service_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[object, object]


class ModelsServicer(pb_grpc.ModelsServiceServicer):
    """gRPC handlers over the models core."""

    def __init__(self, registry: ProviderRegistry, auth: Authenticator) -> None:
        self._registry = registry
        self._auth = auth

    async def ListModels(self, request: pb.ListModelsRequest, context: Context) -> pb.ListModelsResponse:
        """Every model."""
        try:
            self._auth.tenant_of(context)
            return list_models(self._registry)
        except ApiError as err:
            await abort(context, err)
            raise

    async def GetModel(self, request: pb.GetModelRequest, context: Context) -> pb.GetModelResponse:
        """One model; NOT_FOUND (`model_not_found`) for a name neither listed nor routed explicitly."""
        try:
            self._auth.tenant_of(context)
            return pb.GetModelResponse(model=get_model(self._registry, request.model))
        except ApiError as err:
            await abort(context, err)
            raise
