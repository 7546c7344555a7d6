"""The embedder built from the configuration."""

from __future__ import annotations

import math

import pytest

from rejoinder.config import UpstreamSettings
from rejoinder.config_embeddings import EmbeddingSettings
from rejoinder.embeddings.factory import build_embedder
from rejoinder.embeddings.local import LocalEmbedder
from tests.scripted_upstream import ScriptedUpstream


async def test_the_default_is_the_local_model() -> None:
    embedder = build_embedder(EmbeddingSettings(dimensions=128), {})
    try:
        assert isinstance(embedder, LocalEmbedder)
        assert (embedder.model, embedder.dimensions) == ("wordllama-l2-supercat-128", 128)
        assert len((await embedder.embed(["hello"]))[0]) == 128
    finally:
        await embedder.aclose()


async def test_an_upstream_is_asked_for_its_model(scripted_upstream: ScriptedUpstream) -> None:
    providers = {"up": UpstreamSettings(base_url=scripted_upstream.base_url, api_key="sk-up")}
    settings = EmbeddingSettings("up", "embed-large", dimensions=16, batch_size=2)
    embedder = build_embedder(settings, providers)
    try:
        vectors = await embedder.embed(["a", "b", "c"])
    finally:
        await embedder.aclose()
    sent = scripted_upstream.embedding_requests
    got = [(r["model"], r["dimensions"], len(r["input"])) for r in sent]
    assert got == [("embed-large", 16, 2), ("embed-large", 16, 1)]
    assert scripted_upstream.embedding_requests[0]["input"] == ["a", "b"]
    assert embedder.model == "embed-large" and all(math.isclose(sum(x * x for x in v), 1.0) for v in vectors)


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="'nowhere' is not configured"):
        build_embedder(EmbeddingSettings("nowhere", "m"), {})
