"""Chunking: OpenAI's strategies checked as OpenAI checks them, chunks of whole words within the size,
overlapping as asked, keeping their place; and the token estimate against real cl100k counts."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from bench.file_search_quality import CORPUS, documents
from rejoinder.vectors.chunking import (
    AUTO,
    ChunkingStrategy,
    chunk_text,
    estimate_tokens,
    parse_chunking_strategy,
    static_strategy,
)
from rejoinder.vectors.errors import InvalidParam


def test_auto_and_absent_are_static_800_400() -> None:
    assert parse_chunking_strategy(None) == AUTO
    assert parse_chunking_strategy({"type": "auto"}) == ChunkingStrategy("auto", 800, 400)


def test_static_is_read_with_its_sizes() -> None:
    raw = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50}}
    assert parse_chunking_strategy(raw) == ChunkingStrategy("static", 100, 50)


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ("auto", "chunking_strategy"),
        ({"type": "semantic"}, "chunking_strategy.type"),
        ({"type": "static"}, "chunking_strategy.static"),
        (
            {"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}},
            "chunking_strategy.static.max_chunk_size_tokens",
        ),
        (
            {"type": "static", "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}},
            "chunking_strategy.static.max_chunk_size_tokens",
        ),
        (
            {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401}},
            "chunking_strategy.static.chunk_overlap_tokens",
        ),
        (
            {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": -1}},
            "chunking_strategy.static.chunk_overlap_tokens",
        ),
        (
            {"type": "static", "static": {"max_chunk_size_tokens": "800", "chunk_overlap_tokens": 0}},
            "chunking_strategy.static.max_chunk_size_tokens",
        ),
        (
            {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": True}},
            "chunking_strategy.static.chunk_overlap_tokens",
        ),
    ],
)
def test_bad_strategies_name_their_parameter(raw: object, param: str) -> None:
    with pytest.raises(InvalidParam) as caught:
        parse_chunking_strategy(raw)
    assert caught.value.param == param


def test_the_limits_themselves_are_allowed() -> None:
    assert static_strategy(100, 50).max_chunk_size_tokens == 100
    assert static_strategy(4096, 2048).chunk_overlap_tokens == 2048
    assert static_strategy(800, 0).chunk_overlap_tokens == 0


def _long_text() -> str:
    return "\n\n".join(documents().values())


def test_chunks_are_whole_words_within_the_size_and_keep_their_place() -> None:
    text = _long_text()
    strategy = static_strategy(100, 30)
    chunks = chunk_text(text, strategy)
    assert len(chunks) > 40
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert estimate_tokens(chunk.text) <= 100
        assert not chunk.text[0].isspace() and not chunk.text[-1].isspace()
        assert chunk.start == 0 or text[chunk.start - 1].isspace()  # never starts inside a word
        assert chunk.end == len(text) or text[chunk.end].isspace()  # nor ends inside one
    assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())


def test_consecutive_chunks_overlap_by_at_most_the_overlap() -> None:
    chunks = chunk_text(_long_text(), static_strategy(120, 40))
    for before, after in itertools.pairwise(chunks):
        assert before.start < after.start <= before.end  # moves on, and repeats the tail
        repeated = before.text[after.start - before.start :]
        assert 0 < estimate_tokens(repeated) <= 40
    no_overlap = chunk_text(_long_text(), static_strategy(120, 0))
    assert all(a.end < b.start for a, b in itertools.pairwise(no_overlap))


def test_small_and_empty_texts() -> None:
    assert chunk_text("   \n ") == []
    [only] = chunk_text("  one short line  ")
    assert (only.text, only.start, only.position) == ("one short line", 2, 0)


def test_a_word_longer_than_a_chunk_is_cut_into_pieces() -> None:
    blob = "x" * 5000  # a base64 blob, a minified line
    chunks = chunk_text(f"before {blob} after", static_strategy(100, 0))
    assert len(chunks) > 5
    assert all(estimate_tokens(c.text) <= 100 for c in chunks)
    assert "".join(re.sub(r"\s", "", c.text) for c in chunks) == f"before{blob}after"


def test_the_estimate_tracks_real_cl100k_counts() -> None:
    counted = json.loads((CORPUS / "cl100k_counts.json").read_text())["tokens"]
    texts = documents()
    assert counted.keys() == texts.keys()
    estimated = {name: estimate_tokens(text) for name, text in texts.items()}
    assert 0.97 <= sum(estimated.values()) / sum(counted.values()) <= 1.05
    for name, real in counted.items():
        assert abs(estimated[name] - real) / real <= 0.15, name
