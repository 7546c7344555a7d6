"""Shared pytest fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Until the package is installed into the venv (`pip install -e .`) or pytest gets `pythonpath`, make
# `import rejoinder` resolve to the source tree.
_SRC = str(Path(__file__).resolve().parents[1] / "service" / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

from tests.scripted_upstream import ScriptedUpstream  # noqa: E402


@pytest.fixture
def scripted_upstream() -> Iterator[ScriptedUpstream]:
    """A real chat completions server on 127.0.0.1, stopped (threads joined) after the test."""
    with ScriptedUpstream() as upstream:
        yield upstream


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.jsonl from this run",
    )
