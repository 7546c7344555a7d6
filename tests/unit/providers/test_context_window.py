"""A route's context window: the configured one, else what the upstream's model list says (vLLM's
`max_model_len`, kept by the catalog), else none."""

from __future__ import annotations

from collections.abc import AsyncIterator

from rejoinder.providers import base as p
from rejoinder.providers.registry import ModelEntry, ProviderRegistry


class ListingProvider:
    """A provider whose upstream lists one model with a context window."""

    @property
    def capabilities(self) -> p.Capabilities:
        return p.Capabilities()

    async def stream(self, req: p.ChatRequest) -> AsyncIterator[p.ChatDelta]:
        yield p.FinishDelta("stop")

    async def models(self) -> list[p.UpstreamModel]:
        return [p.UpstreamModel("qwen", context_window=32768), p.UpstreamModel("other")]

    async def count_tokens(self, req: p.ChatRequest) -> p.TokenCount:
        return p.TokenCount(0, exact=False)

    async def aclose(self) -> None:
        return None


async def test_configured_then_listed_then_none() -> None:
    models = {
        "pinned": ModelEntry("vllm", "qwen", context_window=4096),
        "listed": ModelEntry("vllm", "qwen"),
        "unlisted": ModelEntry("vllm", "other"),
    }
    registry = ProviderRegistry({"vllm": ListingProvider()}, models, default_provider="vllm")
    assert registry.resolve("listed").context_window is None  # the list is not fetched yet

    await registry.refresh_models()

    assert registry.resolve("pinned").context_window == 4096  # configuration wins
    assert registry.resolve("listed").context_window == 32768
    assert registry.resolve("qwen").context_window == 32768  # the default provider's own name
    assert registry.resolve("unlisted").context_window is None
    await registry.aclose()


async def test_a_provider_of_one_model_under_any_name_gives_its_window_to_every_name() -> None:
    """The local model answers whatever model name a client sends: each name gets its window (without
    it, truncation and the context_length_exceeded check never ran on the default `make run`)."""
    models = {"pinned": ModelEntry("local", "smollm2", context_window=1024)}
    registry = ProviderRegistry(
        {"local": ListingProvider()}, models, default_provider="local", windows={"local": 4096}
    )
    await registry.refresh_models()

    assert registry.resolve("any-name-at-all").context_window == 4096
    assert registry.resolve("qwen").context_window == 32768  # what the listing says comes first
    assert registry.resolve("pinned").context_window == 1024  # and configuration before that
    await registry.aclose()
