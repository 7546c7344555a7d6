"""Models: what `GET /v1/models` lists and `GET /v1/models/{model}` finds, for both surfaces (the REST
bridge and the typed `ModelsService`). What is listed and found is the registry's to say."""

from __future__ import annotations

from rejoinder.providers.registry import ListedModel, ProviderRegistry
from rejoinder.responses.v1 import models_service_pb2 as pb


def _as_proto(model: ListedModel) -> pb.Model:
    return pb.Model(id=model.id, object="model", created=model.created, owned_by=model.owned_by)


def list_models(registry: ProviderRegistry) -> pb.ListModelsResponse:
    """Every model: the aliases, then the upstreams' own models (their last known lists)."""
    return pb.ListModelsResponse(object="list", data=[_as_proto(m) for m in registry.listed()])


def get_model(registry: ProviderRegistry, model: str) -> pb.Model:
    """One model. Raises `ApiError` (404, code `model_not_found`, param `model`)."""
    return _as_proto(registry.find(model))
