"""Hybrid ranking: weighted RRF (k = 60), a missing chunk ranked after a list's last, scores 0..1."""

from __future__ import annotations

import pytest

from rejoinder.vectors.base import Weights
from rejoinder.vectors.fusion import fuse, query_terms, top


def test_first_in_both_lists_scores_one_and_missing_counts_as_after_the_last() -> None:
    fused = fuse("hybrid", [(1, 0.9), (2, 0.8), (3, 0.1)], [2, 9], Weights())
    scores = dict(fused)
    assert [chunk for chunk, _ in fused] == [2, 1, 9, 3]
    assert scores[2] == pytest.approx((1 / 62 + 1 / 61) / (2 / 61))
    assert scores[1] == pytest.approx((1 / 61 + 1 / 63) / (2 / 61))  # keyword list of 2: missing = 3rd
    assert scores[9] == pytest.approx((1 / 64 + 1 / 62) / (2 / 61))  # vector list of 3: missing = 4th
    assert fuse("hybrid", [(5, 0.5)], [5], Weights()) == [(5, 1.0)]


def test_weights_shift_the_order_and_a_zero_weight_half_finds_nothing() -> None:
    vector, keyword = [(1, 0.9), (2, 0.5)], [2, 1]
    assert [c for c, _ in fuse("hybrid", vector, keyword, Weights(3, 1))] == [1, 2]
    assert [c for c, _ in fuse("hybrid", vector, keyword, Weights(1, 3))] == [2, 1]
    assert [c for c, _ in fuse("hybrid", [(1, 0.9), (7, 0.8)], [2], Weights(0, 1))] == [2]


def test_vector_mode_scores_are_cosines_and_keyword_mode_ranks() -> None:
    assert fuse("vector", [(1, 1.2), (2, 0.4), (3, -0.3)], [], Weights()) == [(1, 1.0), (2, 0.4), (3, 0.0)]
    assert fuse("keyword", [], [4, 3], Weights()) == [(4, 1.0), (3, pytest.approx(61 / 62))]


def test_equal_scores_go_to_the_older_chunk_and_top_applies_the_threshold() -> None:
    fused = fuse("hybrid", [(8, 0.9), (3, 0.8)], [3, 8], Weights())
    assert [c for c, _ in fused] == [3, 8]
    assert top(fused, 1, 0.0) == fused[:1]
    assert top([(1, 0.9), (2, 0.5)], 5, 0.6) == [(1, 0.9)]


def test_query_terms_drop_stop_words_and_repeats() -> None:
    assert query_terms("What is the KV-9 seat kit? The kit!") == ["kv", "9", "seat", "kit"]
    assert query_terms("the of and") == []
