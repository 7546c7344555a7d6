"""Routing a request's `model` to a provider and the name its upstream knows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rejoinder.errors import ApiError, ErrorKind
from rejoinder.providers import base as p
from rejoinder.providers.registry import ModelEntry, ProviderRegistry


class FakeProvider:
    """A provider that only records whether it was closed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    @property
    def capabilities(self) -> p.Capabilities:
        return p.Capabilities()

    async def stream(self, req: p.ChatRequest) -> AsyncIterator[p.ChatDelta]:
        yield p.FinishDelta("stop")

    async def models(self) -> list[p.UpstreamModel]:
        return []

    async def aclose(self) -> None:
        self.closed = True


LOCAL = FakeProvider("local")
CLOUD = FakeProvider("cloud")
MODELS = {"fast": ModelEntry(provider="cloud", upstream_model="small-2"), "big": ModelEntry("local", "big")}


def registry(default: str | None = None) -> ProviderRegistry:
    return ProviderRegistry({"local": LOCAL, "cloud": CLOUD}, MODELS, default)


def test_configured_name() -> None:
    route = registry().resolve("fast")

    assert route.provider is CLOUD
    assert route.upstream_model == "small-2"


def test_configured_name_wins_over_the_default() -> None:
    route = registry(default="local").resolve("fast")

    assert route.provider is CLOUD


def test_provider_slash_model() -> None:
    route = registry().resolve("local/llama-3.1-8b")

    assert route.provider is LOCAL
    assert route.upstream_model == "llama-3.1-8b"


def test_provider_slash_model_keeps_further_slashes() -> None:
    route = registry().resolve("cloud/meta-llama/Llama-3.1-8B")

    assert route.provider is CLOUD
    assert route.upstream_model == "meta-llama/Llama-3.1-8B"


def test_default_provider_takes_any_other_name_as_given() -> None:
    route = registry(default="local").resolve("gpt-4.1")

    assert route.provider is LOCAL
    assert route.upstream_model == "gpt-4.1"


def test_default_provider_takes_an_unknown_prefix_whole() -> None:
    route = registry(default="local").resolve("org/model")

    assert route.provider is LOCAL
    assert route.upstream_model == "org/model"


@pytest.mark.parametrize("model", ["gpt-4.1", "nobody/model", "local/", "/x"])
def test_unknown_model_without_a_default(model: str) -> None:
    with pytest.raises(ApiError) as info:
        registry().resolve(model)

    err = info.value
    assert err.kind is ErrorKind.NOT_FOUND
    assert err.code == "model_not_found"
    assert err.param == "model"
    assert err.message == f"The model '{model}' does not exist or you do not have access to it."


def test_model_names_are_the_configured_ones() -> None:
    assert sorted(registry().model_names()) == ["big", "fast"]


async def test_aclose_closes_every_provider() -> None:
    a, b = FakeProvider("a"), FakeProvider("b")

    await ProviderRegistry({"a": a, "b": b}, {}).aclose()

    assert a.closed and b.closed
