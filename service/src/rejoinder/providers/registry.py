"""Routes a request's `model` to a provider and the model name the upstream knows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rejoinder.errors import clip, not_found
from rejoinder.providers.base import Provider


@dataclass(frozen=True)
class ModelEntry:
    """A configured model name: which provider serves it, under which upstream name, and the most
    tokens it can produce when that is known."""

    provider: str
    upstream_model: str
    max_output_tokens: int | None = None


@dataclass(frozen=True)
class Route:
    """Where one request goes."""

    provider: Provider
    upstream_model: str
    max_output_tokens: int | None = None


class ProviderRegistry:
    """Providers by name, configured models, and an optional default provider for any other name.

    Resolution: a configured model name; then "provider/model" for a known provider; then the
    default provider with the name as given. Anything else is a 404 `model_not_found`.
    """

    def __init__(
        self,
        providers: Mapping[str, Provider],
        models: Mapping[str, ModelEntry],
        default_provider: str | None = None,
    ) -> None:
        self._providers = dict(providers)
        self._models = dict(models)
        self._default = default_provider

    def resolve(self, model: str) -> Route:
        """The route of `model`. Raises `ApiError` (404, code `model_not_found`)."""
        entry = self._models.get(model)
        if entry is not None:
            return Route(self._providers[entry.provider], entry.upstream_model, entry.max_output_tokens)
        prefix, sep, rest = model.partition("/")
        if sep and rest and prefix in self._providers:
            return Route(self._providers[prefix], rest)
        if self._default is not None:
            return Route(self._providers[self._default], model)
        raise not_found(
            f"The model '{clip(model)}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )

    def model_names(self) -> list[str]:
        """The configured model names, as `GET /v1/models` lists them."""
        return list(self._models)

    async def aclose(self) -> None:
        """Close every provider."""
        for provider in self._providers.values():
            await provider.aclose()
