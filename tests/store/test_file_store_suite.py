"""One behaviour suite for every `FileStore`: SQLite (bytes in a content-addressed directory) and
PostgreSQL (bytes in the database, in parts).

To add a file store, add its opener to `BACKENDS`; every test then runs against it too.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from rejoinder.store.files.base import FileStore, NewFile, StoredFile
from rejoinder.store.files.blob_dir import BlobDir
from rejoinder.store.files.postgres import PostgresFileStore
from rejoinder.store.files.sqlite import SqliteFileStore
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.sqlite import SqliteStore
from tests.postgres_server import create_database, drop_database

PART = 1000  # PostgreSQL parts this small, so that the tests' files span several
NOW = 1_700_000_000


@dataclass
class Opened:
    """A file store and what must be closed after the test."""

    files: FileStore
    close: Callable[[], Awaitable[None]]
    blob_root: Path | None = None  # SQLite: where the bytes are


async def _sqlite(tmp_path: Path, dsn: str) -> Opened:
    store = await SqliteStore.open(tmp_path / "data" / "rejoinder.db")
    root = tmp_path / "data" / "files"
    return Opened(SqliteFileStore(store, BlobDir(root)), store.close, root)


async def _postgres(tmp_path: Path, dsn: str) -> Opened:
    store = await PostgresStore.open(dsn)
    return Opened(PostgresFileStore(store.pool, part_bytes=PART), store.close)


BACKENDS: dict[str, Callable[[Path, str], Awaitable[Opened]]] = {"sqlite": _sqlite, "postgres": _postgres}


@pytest.fixture(params=list(BACKENDS))
async def open_files(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin_dsn: str
) -> AsyncIterator[Callable[[], Awaitable[Opened]]]:
    """Opens file stores of one backend on the same data; closes them after the test."""
    dsn = await create_database(postgres_admin_dsn) if request.param == "postgres" else ""
    opened: list[Opened] = []

    async def open_one() -> Opened:
        opened.append(await BACKENDS[request.param](tmp_path, dsn))
        return opened[-1]

    yield open_one
    for one in opened:
        await one.close()
    if dsn:
        await drop_database(postgres_admin_dsn, dsn)


@pytest.fixture
async def opened(open_files: Callable[[], Awaitable[Opened]]) -> Opened:
    return await open_files()


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def content(files: FileStore, file: StoredFile) -> bytes:
    return b"".join([chunk async for chunk in files.read_file(file)])


def new(
    file_id: str, *, created_at: int = NOW, purpose: str = "assistants", expires_at: int | None = None
) -> NewFile:
    return NewFile(file_id, f"{file_id}.txt", purpose, created_at, expires_at)


async def put(
    files: FileStore, file_id: str, data: bytes = b"hello", tenant: str = "", **kw: object
) -> StoredFile:
    return await files.create_file(file_id, chunks(data), lambda: new(file_id, **kw), tenant=tenant)  # type: ignore[arg-type]


def ids(files: Iterable[StoredFile]) -> list[str]:
    return [f.id for f in files]


async def test_bytes_round_trip_in_any_chunking(opened: Opened) -> None:
    data = bytes(range(256)) * 20  # 5,120 bytes: several PostgreSQL parts, the last one short
    pieces = [data[i : i + 777] for i in range(0, len(data), 777)]
    stored = await opened.files.create_file("file-a", chunks(*pieces), lambda: new("file-a"))
    assert stored.bytes == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    got = await opened.files.get_file("file-a", now=NOW)
    assert got == stored
    assert await content(opened.files, stored) == data


async def test_an_empty_file(opened: Opened) -> None:
    stored = await put(opened.files, "file-empty", b"")
    assert stored.bytes == 0
    assert await content(opened.files, stored) == b""


async def test_files_outlive_the_store(open_files: Callable[[], Awaitable[Opened]]) -> None:
    first = await open_files()
    stored = await put(first.files, "file-a", b"kept")
    await first.close()
    again = await open_files()
    assert await again.files.get_file("file-a", now=NOW) == stored
    assert await content(again.files, stored) == b"kept"


async def test_tenants_see_only_their_files(opened: Opened) -> None:
    await put(opened.files, "file-a", tenant="acme")
    assert await opened.files.get_file("file-a", now=NOW, tenant="other") is None
    page = await opened.files.list_files(
        after=None, limit=10, order="desc", purpose=None, now=NOW, tenant="other"
    )
    assert page.files == ()
    assert not await opened.files.delete_file("file-a", tenant="other")
    assert await opened.files.get_file("file-a", now=NOW, tenant="acme") is not None


async def test_pages_in_both_orders(opened: Opened) -> None:
    for n in range(5):
        await put(opened.files, f"file-{n}", created_at=NOW + n)
    files = opened.files

    async def page(after: str | None, order: str, limit: int = 2) -> tuple[list[str], bool]:
        got = await files.list_files(after=after, limit=limit, order=order, purpose=None, now=NOW)  # type: ignore[arg-type]
        return ids(got.files), got.has_more

    assert await page(None, "desc") == (["file-4", "file-3"], True)
    assert await page("file-3", "desc") == (["file-2", "file-1"], True)
    assert await page("file-1", "desc") == (["file-0"], False)
    assert await page(None, "asc") == (["file-0", "file-1"], True)
    assert await page("file-3", "asc") == (["file-4"], False)
    assert await page("file-4", "asc", 10) == ([], False)
    assert await page("file-missing", "asc") == ([], False)


async def test_same_second_files_page_by_id(opened: Opened) -> None:
    for name in ("file-b", "file-a", "file-c"):
        await put(opened.files, name)
    got = await opened.files.list_files(after="file-a", limit=5, order="asc", purpose=None, now=NOW)
    assert ids(got.files) == ["file-b", "file-c"]


async def test_purpose_filter(opened: Opened) -> None:
    await put(opened.files, "file-a", purpose="assistants", created_at=NOW)
    await put(opened.files, "file-b", purpose="batch", created_at=NOW + 1)
    await put(opened.files, "file-c", purpose="assistants", created_at=NOW + 2)
    got = await opened.files.list_files(after=None, limit=1, order="asc", purpose="assistants", now=NOW)
    assert (ids(got.files), got.has_more) == (["file-a"], True)
    got = await opened.files.list_files(after="file-a", limit=5, order="asc", purpose="assistants", now=NOW)
    assert (ids(got.files), got.has_more) == (["file-c"], False)


async def test_delete(opened: Opened) -> None:
    stored = await put(opened.files, "file-a", b"gone soon")
    assert await opened.files.delete_file("file-a")
    assert await opened.files.get_file("file-a", now=NOW) is None
    assert not await opened.files.delete_file("file-a")
    with pytest.raises(FileNotFoundError):
        await content(opened.files, stored)


async def test_equal_bytes_outlive_one_delete(opened: Opened) -> None:
    first = await put(opened.files, "file-a", b"same bytes", tenant="acme")
    second = await put(opened.files, "file-b", b"same bytes", tenant="other")
    assert first.sha256 == second.sha256
    assert await opened.files.delete_file("file-a", tenant="acme")
    assert await content(opened.files, second) == b"same bytes"
    assert await opened.files.delete_file("file-b", tenant="other")
    with pytest.raises(FileNotFoundError):
        await content(opened.files, second)
    if opened.blob_root is not None:  # content-addressed: one copy, removed with its last file
        assert [p for p in opened.blob_root.rglob("*") if p.is_file()] == []


async def test_a_failed_upload_keeps_nothing(opened: Opened) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 2500
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await opened.files.create_file("file-a", broken(), lambda: new("file-a"))
    assert await opened.files.get_file("file-a", now=NOW) is None
    ghost = StoredFile("file-a", "file-a.txt", "assistants", NOW, None, 2500, "0" * 64)
    with pytest.raises(FileNotFoundError):
        await content(opened.files, ghost)
    if opened.blob_root is not None:
        assert [p for p in opened.blob_root.rglob("*") if p.is_file()] == []


async def test_a_refused_description_keeps_nothing(opened: Opened) -> None:
    def refuse() -> NewFile:
        raise ValueError("purpose: 'nonsense'")

    with pytest.raises(ValueError, match="nonsense"):
        await opened.files.create_file("file-a", chunks(b"x" * 2500), refuse)
    assert await opened.files.get_file("file-a", now=NOW) is None
    ghost = StoredFile("file-a", "file-a.txt", "assistants", NOW, None, 2500, "0" * 64)
    with pytest.raises(FileNotFoundError):
        await content(opened.files, ghost)
    if opened.blob_root is not None:
        assert [p for p in opened.blob_root.rglob("*") if p.is_file()] == []


async def test_a_duplicate_id_is_refused_and_keeps_the_first(opened: Opened) -> None:
    first = await put(opened.files, "file-a", b"first")
    with pytest.raises(Exception):  # noqa: B017 - each database raises its own integrity error
        await put(opened.files, "file-a", b"second")
    assert await content(opened.files, first) == b"first"


async def test_expired_files_are_gone(opened: Opened) -> None:
    await put(opened.files, "file-a", created_at=NOW, expires_at=NOW + 3600)
    await put(opened.files, "file-b", created_at=NOW)
    assert await opened.files.get_file("file-a", now=NOW + 3599) is not None
    assert await opened.files.get_file("file-a", now=NOW + 3600) is None
    got = await opened.files.list_files(after=None, limit=5, order="asc", purpose=None, now=NOW + 3600)
    assert ids(got.files) == ["file-b"]
    assert await opened.files.purge_expired(NOW + 3599) == 0
    assert await opened.files.purge_expired(NOW + 3600) == 1
    assert await opened.files.get_file("file-a", now=NOW) is None
