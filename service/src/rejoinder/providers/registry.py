"""Routes a request's `model` to a provider and the model name the upstream knows, and says which
models there are (`GET /v1/models`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rejoinder.errors import ApiError, clip, not_found
from rejoinder.providers.base import Provider
from rejoinder.providers.catalog import START_WAIT_S, ModelCatalog


@dataclass(frozen=True)
class ModelEntry:
    """A configured model name: which provider serves it, under which upstream name, the most
    tokens it can produce and its context window, when those are known."""

    provider: str
    upstream_model: str
    max_output_tokens: int | None = None
    context_window: int | None = None


@dataclass(frozen=True)
class Route:
    """Where one request goes."""

    provider: Provider
    upstream_model: str
    max_output_tokens: int | None = None
    context_window: int | None = None


@dataclass(frozen=True)
class ListedModel:
    """A model as `GET /v1/models` shows it (OpenAI's `Model`): the name it routes by, and `created` and
    `owned_by` as its upstream lists them (0 and the provider's name when it does not)."""

    id: str
    created: int
    owned_by: str


class ProviderRegistry:
    """Providers by name, configured models, and an optional default provider for any other name.

    Resolution: a configured model name; then "provider/model" for a known provider; then the
    default provider with the name as given. Anything else is a 404 `model_not_found`.

    Listing: the configured names (aliases), then each provider's own models as its upstream lists
    them (`ModelCatalog`, refreshed in the background): the default provider's under their own IDs,
    the others' as "provider/model", each only under a name that routes to it. A model that an alias
    named exactly "provider/model" already routes to is listed once, as that alias.

    Finding one model (`GET /v1/models/{model}`) is stricter than routing: a name the default provider
    would take is found only when its upstream lists it. Requests still route such a name to the
    default provider (its list may be incomplete, or out of reach): the upstream answers them.
    """

    def __init__(
        self,
        providers: Mapping[str, Provider],
        models: Mapping[str, ModelEntry],
        default_provider: str | None = None,
        *,
        refresh_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        windows: Mapping[str, int] | None = None,
    ) -> None:
        """`windows`: the context window of every model name a provider answers, for a provider that
        runs one model under any name (the local model), where neither configuration nor listing
        names the model asked for."""
        self._windows = dict(windows or {})
        self._providers = dict(providers)
        self._models = dict(models)
        self._default = default_provider
        self._catalog = ModelCatalog(self._providers, refresh_s=refresh_s, clock=clock)

    def resolve(self, model: str) -> Route:
        """The route of `model`. Raises `ApiError` (404, code `model_not_found`)."""
        entry = self._explicit(model)
        if entry is None and self._default is not None:
            entry = ModelEntry(self._default, model)
        if entry is None:
            raise model_not_found(model)
        window = entry.context_window
        if window is None:  # else what the upstream's model list says (vLLM, llama.cpp, the local model)
            listed = self._catalog.lookup(entry.provider, entry.upstream_model)
            window = listed.context_window if listed is not None else None
        if window is None:
            window = self._windows.get(entry.provider)
        provider = self._providers[entry.provider]
        return Route(provider, entry.upstream_model, entry.max_output_tokens, window)

    def model_names(self) -> list[str]:
        """The configured model names (aliases)."""
        return list(self._models)

    def listed(self) -> list[ListedModel]:
        """The models, as `GET /v1/models` lists them (see the class docstring)."""
        found = {name: self._describe(name, entry) for name, entry in self._models.items()}
        for provider in self._providers:
            for upstream in self._catalog.known(provider):
                name = self._listed_name(provider, upstream.id)
                if name is not None and name not in found:
                    found[name] = self._describe(name, ModelEntry(provider, upstream.id))
        return list(found.values())

    def find(self, model: str) -> ListedModel:
        """One model: an alias, "provider/model" of a known provider, or a name that the default
        provider's upstream lists. Raises `ApiError` (404, code `model_not_found`)."""
        entry = self._explicit(model)
        if entry is None and self._default is not None:
            listed = self._catalog.lookup(self._default, model) is not None
            entry = ModelEntry(self._default, model) if listed else None
        if entry is None:
            raise model_not_found(model)
        return self._describe(model, entry)

    async def start(self, wait_s: float = START_WAIT_S) -> None:
        """Fetch the upstreams' model lists, waiting at most `wait_s`, and keep them fresh."""
        await self._catalog.start(wait_s)

    async def refresh_models(self) -> None:
        """Fetch now the model lists that are due (what the background refresh does)."""
        await self._catalog.refresh()

    async def aclose(self) -> None:
        """Stop refreshing the model lists; close every provider."""
        await self._catalog.aclose()
        for provider in self._providers.values():
            await provider.aclose()

    def _explicit(self, model: str) -> ModelEntry | None:
        """Where `model` goes when it names its route itself: an alias, or "provider/model"."""
        entry = self._models.get(model)
        if entry is not None:
            return entry
        prefix, sep, rest = model.partition("/")
        if sep and rest and prefix in self._providers:
            return ModelEntry(prefix, rest)
        return None

    def _listed_name(self, provider: str, upstream_model: str) -> str | None:
        """The name the provider's `upstream_model` is listed by, or None when it is listed as an alias
        or no name of its kind routes to it."""
        qualified = f"{provider}/{upstream_model}"
        alias = self._models.get(qualified)
        if alias is not None and (alias.provider, alias.upstream_model) == (provider, upstream_model):
            return None
        name = upstream_model if provider == self._default else qualified
        entry = self._explicit(name) or ModelEntry(provider, name)
        return name if (entry.provider, entry.upstream_model) == (provider, upstream_model) else None

    def _describe(self, name: str, entry: ModelEntry) -> ListedModel:
        upstream = self._catalog.lookup(entry.provider, entry.upstream_model)
        created = upstream.created if upstream is not None else None
        owned_by = upstream.owned_by if upstream is not None else None
        return ListedModel(name, created or 0, owned_by or entry.provider)


def model_not_found(model: str) -> ApiError:
    """OpenAI's 404 for a model that does not exist."""
    return not_found(
        f"The model '{clip(model)}' does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )
