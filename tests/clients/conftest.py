"""Fixtures shared by the client tests (Python, TypeScript, Go)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_upstream() -> Iterator[str]:
    """`python -m bench.upstream` on a free port; its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream", "--port", "0", "--loop", "asyncio"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    ready = re.fullmatch(r"ready (\d+)\n", proc.stdout.readline())
    if ready is None:
        proc.kill()
        pytest.fail("the bench upstream did not start")
    yield f"http://127.0.0.1:{ready.group(1)}/v1"
    proc.terminate()
    proc.communicate(timeout=10)
