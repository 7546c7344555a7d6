"""`python -m bench.inproc`: the service's own CPU per create, two builds taking turns in child processes."""

from __future__ import annotations

import os

from bench.inproc import WORKTREE, measure, render


def test_two_builds_are_measured_in_turns_each_making_real_creates() -> None:
    cores = sorted(os.sched_getaffinity(0))
    figures = measure("HEAD", WORKTREE, pairs=2, n=40, service_core=cores[0], load_core=cores[-1])
    assert len(figures) == 2
    for a_us, b_us in figures:  # a child that made no completed response exits non-zero: measure raises
        assert 20 < a_us < 20_000 and 20 < b_us < 20_000, figures


def test_the_table_gives_the_medians_and_the_ratio_of_each_pair() -> None:
    text = render([(100.0, 95.0), (200.0, 190.0), (150.0, 153.0)], "HEAD", "worktree")
    assert "A = HEAD, B = worktree" in text
    assert "A 150.0 us, B 153.0 us" in text
    assert "B/A 0.9500 (pairs 0.950-1.020, 2/3 under 1)" in text
