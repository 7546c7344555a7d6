"""What the registry lists (`GET /v1/models`) and finds (`GET /v1/models/{model}`), over the upstreams'
own lists; and the core that both surfaces call."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rejoinder.core.models import get_model, list_models
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.providers import base as p
from rejoinder.providers.registry import ListedModel, ModelEntry, ProviderRegistry
from rejoinder.responses.v1 import models_service_pb2 as pb
from tests.fakes import FakeClock


class ListingProvider:
    """A provider whose upstream lists `listed` (or fails with `UpstreamError` when it is None)."""

    def __init__(self, *listed: p.UpstreamModel) -> None:
        self.listed: tuple[p.UpstreamModel, ...] | None = listed

    @property
    def capabilities(self) -> p.Capabilities:
        return p.Capabilities()

    async def stream(self, req: p.ChatRequest) -> AsyncIterator[p.ChatDelta]:
        yield p.FinishDelta("stop")

    async def models(self) -> list[p.UpstreamModel]:
        if self.listed is None:
            raise p.UpstreamError("connect", "cannot reach upstream")
        return list(self.listed)

    async def aclose(self) -> None:
        return None


def upstream() -> ListingProvider:
    """The default provider's upstream (a vLLM, say)."""
    return ListingProvider(
        p.UpstreamModel("llama-3.1-8b", 1_700_000_000, "meta"),
        p.UpstreamModel("meta-llama/Llama-3.1-70B"),  # a slash, but "meta-llama" is no provider
        p.UpstreamModel("fast"),  # an alias's name: the alias wins, so it is not listed as this model
        p.UpstreamModel("cloud/gpt"),  # routes to the provider "cloud", so not listed as this model
    )


def cloud() -> ListingProvider:
    return ListingProvider(p.UpstreamModel("gpt", 1_690_000_000, "openai"), p.UpstreamModel("small-2"))


async def registry(
    default: str | None = "vllm", **providers: ListingProvider
) -> tuple[ProviderRegistry, FakeClock]:
    clock = FakeClock()
    providers = providers or {"vllm": upstream(), "cloud": cloud()}
    aliases = {"fast": ModelEntry("cloud", "small-2"), "big": ModelEntry("vllm", "llama-3.1-8b")}
    made = ProviderRegistry(providers, aliases, default, refresh_s=60, clock=clock.now)
    await made.refresh_models()
    return made, clock


async def test_the_list_is_the_aliases_then_each_upstreams_models_by_names_that_route_to_them() -> None:
    models, _ = await registry()

    assert models.listed() == [
        ListedModel("fast", 0, "cloud"),  # cloud lists small-2 without created or owned_by
        ListedModel("big", 1_700_000_000, "meta"),  # as its target is listed
        ListedModel("llama-3.1-8b", 1_700_000_000, "meta"),  # the default provider's: by their own ids
        ListedModel("meta-llama/Llama-3.1-70B", 0, "vllm"),
        ListedModel("cloud/gpt", 1_690_000_000, "openai"),  # another provider's: as provider/model
        ListedModel("cloud/small-2", 0, "cloud"),
    ]


async def test_without_a_default_provider_every_upstream_model_is_provider_slash_model() -> None:
    models, _ = await registry(default=None)

    assert [m.id for m in models.listed()] == [
        "fast",
        "big",
        "vllm/llama-3.1-8b",
        "vllm/meta-llama/Llama-3.1-70B",
        "vllm/fast",
        "vllm/cloud/gpt",
        "cloud/gpt",
        "cloud/small-2",
    ]


async def test_an_alias_named_provider_slash_model_stands_for_that_model() -> None:
    """As the local model is configured: the alias `local/smollm2-135m` and local as the default."""
    local = ListingProvider(p.UpstreamModel("smollm2-135m", owned_by="rejoinder"))
    aliases = {"local/smollm2-135m": ModelEntry("local", "smollm2-135m")}
    models = ProviderRegistry({"local": local}, aliases, "local")
    await models.refresh_models()

    assert models.listed() == [ListedModel("local/smollm2-135m", 0, "rejoinder")]
    assert models.find("smollm2-135m") == ListedModel("smollm2-135m", 0, "rejoinder")  # listed upstream


async def test_an_unreachable_upstream_lists_nothing_until_it_answers_then_keeps_its_last_list() -> None:
    dead = ListingProvider()
    dead.listed = None
    models, clock = await registry(vllm=upstream(), dead=dead)
    assert "dead/later" not in [m.id for m in models.listed()]

    dead.listed = (p.UpstreamModel("later"),)
    clock.advance(60)
    await models.refresh_models()
    dead.listed = None
    clock.advance(60)
    await models.refresh_models()

    assert [m.id for m in models.listed()][-1] == "dead/later"


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("fast", ListedModel("fast", 0, "cloud")),
        ("llama-3.1-8b", ListedModel("llama-3.1-8b", 1_700_000_000, "meta")),
        ("cloud/gpt", ListedModel("cloud/gpt", 1_690_000_000, "openai")),
        ("cloud/not-listed", ListedModel("cloud/not-listed", 0, "cloud")),  # routes explicitly
        ("vllm/llama-3.1-8b", ListedModel("vllm/llama-3.1-8b", 1_700_000_000, "meta")),
        ("meta-llama/Llama-3.1-70B", ListedModel("meta-llama/Llama-3.1-70B", 0, "vllm")),
    ],
)
async def test_find_a_listed_or_explicitly_routed_model(name: str, found: ListedModel) -> None:
    models, _ = await registry()

    assert models.find(name) == found


@pytest.mark.parametrize("name", ["gpt-4.1", "nobody/model", "cloud/", "/x", "x" * 300])
async def test_find_an_unknown_model_is_openais_404(name: str) -> None:
    models, _ = await registry()

    with pytest.raises(ApiError) as info:
        models.find(name)

    err = info.value
    assert (err.kind, err.code, err.param, err.reason) == (
        ErrorKind.NOT_FOUND,
        "model_not_found",
        "model",
        "MODEL_NOT_FOUND",
    )
    shown = name if len(name) < 200 else err.message.split("'")[1]
    assert err.message == f"The model '{shown}' does not exist or you do not have access to it."
    assert len(err.message) < 300  # the echoed name is clipped


async def test_a_name_the_default_upstream_does_not_list_still_routes_to_it() -> None:
    models, _ = await registry()

    route = models.resolve("gpt-4.1")

    assert route.upstream_model == "gpt-4.1"
    with pytest.raises(ApiError):
        models.find("gpt-4.1")


async def test_the_core_gives_both_surfaces_the_same_protos() -> None:
    models, _ = await registry()

    listed = list_models(models)
    assert listed.object == "list"
    assert listed.data[0] == pb.Model(id="fast", object="model", created=0, owned_by="cloud")
    assert [m.id for m in listed.data] == [m.id for m in models.listed()]
    assert get_model(models, "cloud/gpt") == pb.Model(
        id="cloud/gpt", object="model", created=1_690_000_000, owned_by="openai"
    )
    with pytest.raises(ApiError):
        get_model(models, "gpt-4.1")
