"""`python -m bench.ab`: the per-round ratios and the table that say whether a change is real."""

from __future__ import annotations

import pytest

from bench.ab import FIGURES, render, summary


def _figures(scale: float) -> dict[str, list[float]]:
    return {name: [100.0 * scale, 110.0 * scale, 90.0 * scale] for name in FIGURES}


def test_the_ratio_is_taken_round_by_round_so_a_drift_shared_by_both_builds_cancels() -> None:
    a = {name: [100.0, 200.0, 150.0] for name in FIGURES}  # the machine drifted by 2x between rounds
    b = {name: [95.0, 190.0, 142.5] for name in FIGURES}  # B is 5% cheaper in every round
    row = summary(a, b)["rest_cpu_us"]
    assert row["ratio"] == pytest.approx(0.95)
    assert (row["ratio_low"], row["ratio_high"]) == (pytest.approx(0.95), pytest.approx(0.95))
    assert (row["a"], row["b"]) == (150.0, 142.5)


def test_rounds_on_both_sides_of_one_show_in_the_range() -> None:
    a = _figures(1.0)
    b = {name: [98.0, 112.0, 90.0] for name in FIGURES}
    row = summary(a, b)["grpc_ttft_ms"]
    assert row["ratio_low"] < 1 < row["ratio_high"]


def test_the_table_names_both_builds_and_every_figure() -> None:
    text = render(summary(_figures(1.0), _figures(0.9)), "HEAD", "worktree")
    assert "A = HEAD, B = worktree" in text
    assert "service CPU us per gRPC Create" in text
    assert text.count("0.900 (0.900-0.900)") == len(FIGURES)
