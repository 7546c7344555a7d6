"""The upstream embedder against a real HTTP server (the scripted upstream's `/v1/embeddings`)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest

from rejoinder.embeddings.base import Embedder, EmbeddingError
from rejoinder.embeddings.upstream import UpstreamEmbedder, UpstreamEmbeddingConfig
from tests.scripted_upstream import ScriptedUpstream, UnansweredPort


@pytest.fixture
async def embedder(scripted_upstream: ScriptedUpstream) -> AsyncIterator[UpstreamEmbedder]:
    config = UpstreamEmbeddingConfig(scripted_upstream.base_url, "embed-small", api_key="sk-1", batch_size=3)
    embedder = UpstreamEmbedder(config)
    yield embedder
    await embedder.aclose()


async def test_texts_are_sent_in_batches_and_come_back_in_order_as_unit_vectors(
    embedder: UpstreamEmbedder, scripted_upstream: ScriptedUpstream
) -> None:
    texts = [f"text {i}" for i in range(7)]

    vectors = await embedder.embed(texts)

    sent = scripted_upstream.embedding_requests
    assert [r["input"] for r in sent] == [texts[0:3], texts[3:6], texts[6:7]]
    assert {r["model"] for r in sent} == {"embed-small"} and "dimensions" not in sent[0]
    assert len(vectors) == 7 and embedder.dimensions == 8
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in vectors)
    alone = await embedder.embed(["text 5"])  # the upstream lists replies in reverse: index decides
    assert alone[0] == pytest.approx(vectors[5])
    assert vectors[0] != pytest.approx(vectors[1])


async def test_it_is_an_embedder(embedder: UpstreamEmbedder) -> None:
    typed: Embedder = embedder
    assert typed.model == "embed-small"
    assert await typed.embed([]) == []


async def test_the_dimensions_asked_for_are_sent_and_checked(scripted_upstream: ScriptedUpstream) -> None:
    config = UpstreamEmbeddingConfig(scripted_upstream.base_url, "m", dimensions=4)
    embedder = UpstreamEmbedder(config)
    try:
        assert embedder.dimensions == 4
        assert len((await embedder.embed(["a"]))[0]) == 4
        assert scripted_upstream.embedding_requests[-1]["dimensions"] == 4

        scripted_upstream.embedding_faults.append("wrong_dimensions")
        with pytest.raises(EmbeddingError, match=r"vectors of \[4, 5\] floats; expected 4"):
            await embedder.embed(["a", "b"])
    finally:
        await embedder.aclose()


async def test_dimensions_are_unknown_until_the_first_reply(embedder: UpstreamEmbedder) -> None:
    with pytest.raises(EmbeddingError) as unknown:
        _ = embedder.dimensions
    assert unknown.value.retryable


@pytest.mark.parametrize(
    ("status", "retryable"), [(429, True), (500, True), (503, True), (400, False), (401, False)]
)
async def test_upstream_errors_say_whether_to_retry(
    embedder: UpstreamEmbedder, scripted_upstream: ScriptedUpstream, status: int, retryable: bool
) -> None:
    scripted_upstream.embedding_faults.append(status)
    with pytest.raises(EmbeddingError) as failed:
        await embedder.embed(["a"])
    assert failed.value.retryable is retryable
    assert f"answered {status}: scripted error {status}" in failed.value.message


async def test_a_reply_short_of_a_vector_is_an_error(
    embedder: UpstreamEmbedder, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.embedding_faults.append("missing")
    with pytest.raises(EmbeddingError, match="sent 2 vectors for 3 texts") as failed:
        await embedder.embed(["a", "b", "c"])
    assert not failed.value.retryable


async def test_an_unreachable_upstream_is_retryable() -> None:
    with UnansweredPort() as port:
        config = UpstreamEmbeddingConfig(f"http://127.0.0.1:{port}/v1", "m", connect_timeout_s=0.2)
        embedder = UpstreamEmbedder(config)
        try:
            with pytest.raises(EmbeddingError) as failed:
                await embedder.embed(["a"])
        finally:
            await embedder.aclose()
    assert failed.value.retryable


async def test_a_closed_port_is_retryable() -> None:
    embedder = UpstreamEmbedder(UpstreamEmbeddingConfig("http://127.0.0.1:9/v1", "m"))
    try:
        with pytest.raises(EmbeddingError) as failed:
            await embedder.embed(["a"])
    finally:
        await embedder.aclose()
    assert failed.value.retryable and "cannot reach" in failed.value.message


async def test_the_api_key_is_sent(embedder: UpstreamEmbedder, scripted_upstream: ScriptedUpstream) -> None:
    await embedder.embed(["a"])
    assert scripted_upstream.embedding_headers[-1]["authorization"] == "Bearer sk-1"


async def test_a_slow_upstream_is_a_retryable_timeout(scripted_upstream: ScriptedUpstream) -> None:
    embedder = UpstreamEmbedder(UpstreamEmbeddingConfig(scripted_upstream.base_url, "m", timeout_s=0.3))
    scripted_upstream.embedding_faults.append(5.0)
    try:
        with pytest.raises(EmbeddingError, match=r"did not answer within 0.3 s") as failed:
            await embedder.embed(["a"])
        assert failed.value.retryable
        assert len(await embedder.embed(["b"])) == 1  # the next request goes through
    finally:
        await embedder.aclose()
