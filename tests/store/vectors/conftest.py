"""One suite, every vector index: `open_index` opens indexes of one backend on one place (a file, a
database) and closes them after the test. PostgreSQL needs pgvector on the test server: without it
these tests fail with what to install (`make pgvector`), they are never skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from rejoinder.vectors.base import VectorIndex
from rejoinder.vectors.postgres import PostgresVectorIndex
from rejoinder.vectors.sqlite import SqliteVectorIndex
from tests.postgres_server import create_database, drop_database

IndexOpener = Callable[[], Awaitable[VectorIndex]]
BACKENDS = ["sqlite-file", "sqlite-memory", "postgres"]
SHARED = ["sqlite-file", "postgres"]  # where two indexes opened on one place see the same data


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def open_index(backend: str, tmp_path: Path, postgres_admin_dsn: str) -> AsyncIterator[IndexOpener]:
    dsn = await create_database(postgres_admin_dsn) if backend == "postgres" else ""
    opened: list[VectorIndex] = []

    async def opener() -> VectorIndex:
        index: VectorIndex
        if backend == "postgres":
            index = await PostgresVectorIndex.open(dsn)
        elif backend == "sqlite-file":
            index = await SqliteVectorIndex.open(tmp_path / "data" / "rejoinder.db")
        else:
            index = await SqliteVectorIndex.open(":memory:")
        opened.append(index)
        return index

    try:
        yield opener
    finally:
        for index in opened:
            await index.close()
        if dsn:
            await drop_database(postgres_admin_dsn, dsn)


@pytest.fixture
async def index(open_index: IndexOpener) -> VectorIndex:
    return await open_index()
