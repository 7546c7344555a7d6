"""Retrieval quality on the labelled corpus (tests/data/retrieval), on every store: recall@5 of each mode,
with the deterministic stand-in embedder and with the embedded default model (rejoinder.embeddings.local).

The floors below are what a user would notice losing: rare names and codes found by keyword and hybrid
search, and (with a real model) paraphrases found by vector and hybrid search. Both stores must agree.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench import file_search_quality as quality
from rejoinder.embeddings.base import Embedder
from rejoinder.embeddings.local import LocalEmbedder
from tests.store.vectors.conftest import IndexOpener
from tests.store.vectors.standin import TrigramHashEmbedder

EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "standin": TrigramHashEmbedder,
    "local": lambda: LocalEmbedder(256),
}


def test_the_corpus_is_what_the_bench_reports_on() -> None:
    docs, asked = quality.documents(), quality.questions()
    assert len(docs) == 40
    assert len(asked) == 44
    assert {q.kind for q in asked} == set(quality.KINDS)
    assert all(q.answers <= docs.keys() for q in asked)


@pytest.mark.parametrize("embedder_name", sorted(EMBEDDERS))
async def test_recall_at_5(open_index: IndexOpener, backend: str, embedder_name: str) -> None:
    if backend == "sqlite-memory":
        return  # the same code as sqlite-file; the corpus is ingested once per store kind
    embedder = EMBEDDERS[embedder_name]()
    recall = await quality.evaluate(await open_index(), embedder)
    keyword, hybrid, vector = recall["keyword"], recall["hybrid"], recall["vector"]
    assert keyword["keyword"] == 1.0  # every rare name and code
    assert keyword["mixed"] >= 0.9
    assert hybrid["all"] >= max(keyword["all"], vector["all"]) - 0.05  # fusion never loses much
    if embedder_name == "local":
        assert hybrid["keyword"] == 1.0
        assert vector["paraphrase"] >= 0.7  # a real model finds what shares no words with the question
        assert hybrid["paraphrase"] >= 0.7
        assert hybrid["all"] >= 0.9
    else:
        # a weak model: it pulls its own (wrong) first choices up beside the keyword half's
        assert hybrid["keyword"] >= 0.9
        assert vector["keyword"] >= 0.85  # shared trigrams: codes and names, not meaning
