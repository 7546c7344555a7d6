"""Shared pytest fixtures."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# Until the package is installed into the venv (`pip install -e .`) or pytest gets `pythonpath`, make
# `import rejoinder` resolve to the source tree.
_SRC = str(Path(__file__).resolve().parents[1] / "service" / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

from tests.postgres_server import DSN_ENV, PostgresServer, create_database, drop_database  # noqa: E402
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


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> Iterator[str]:
    """A PostgreSQL server for the session (a throwaway one unless REJOINDER_TEST_POSTGRES_DSN is set)."""
    given = os.environ.get(DSN_ENV)
    if given:
        yield given
        return
    server = PostgresServer()
    dsn = server.start()
    try:
        yield dsn
    finally:
        server.stop()


@pytest.fixture
async def postgres_dsn(postgres_admin_dsn: str) -> AsyncIterator[str]:
    """A new, empty database for this test, dropped after it."""
    dsn = await create_database(postgres_admin_dsn)
    yield dsn
    await drop_database(postgres_admin_dsn, dsn)
