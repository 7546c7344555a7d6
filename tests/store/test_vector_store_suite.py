"""One behaviour suite for vector stores' metadata (`VectorStoreStore`) on every store: SQLite (a file and
in memory) and PostgreSQL. To add a backend, add its opener to `BACKENDS`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from rejoinder.store.base import Store
from rejoinder.store.postgres import PostgresStore
from rejoinder.store.sqlite import SqliteStore
from rejoinder.store.vector_stores.base import (
    FileCounts,
    FileError,
    NewStoreFile,
    NewVectorStore,
    Outcome,
    StoreUpdate,
    VectorStoreStore,
    Window,
)
from rejoinder.store.vector_stores.db import vector_stores_of
from rejoinder.vectors.chunking import AUTO, ChunkingStrategy
from tests.postgres_server import create_database, drop_database

Opener = Callable[[Path, str], Awaitable[Store]]
BACKENDS: dict[str, Opener] = {
    "sqlite-file": lambda tmp, _: SqliteStore.open(tmp / "data" / "rejoinder.db"),
    "sqlite-memory": lambda _, __: SqliteStore.open(":memory:"),
    "postgres": lambda _, dsn: PostgresStore.open(dsn),
}
T = "tenant-a"
STATIC = ChunkingStrategy("static", 200, 50)


@pytest.fixture(params=list(BACKENDS))
async def opened(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin_dsn: str
) -> AsyncIterator[list[Store]]:
    """The stores the test opened on one backend's data (two processes' worth), closed after."""
    dsn = await create_database(postgres_admin_dsn) if request.param == "postgres" else ""
    stores: list[Store] = []
    opener = BACKENDS[request.param]
    stores.append(await opener(tmp_path, dsn))
    if request.param != "sqlite-memory":
        stores.append(await opener(tmp_path, dsn))  # a second replica on the same data
    yield stores
    for store in stores:
        await store.close()
    if dsn:
        await drop_database(postgres_admin_dsn, dsn)


@pytest.fixture
def vs(opened: list[Store]) -> VectorStoreStore:
    return vector_stores_of(opened[0])


@pytest.fixture
def other(opened: list[Store]) -> VectorStoreStore:
    """Another replica (the same one for an in-memory database)."""
    return vector_stores_of(opened[-1])


def new_file(file_id: str, at: int = 100, **attributes: str | float | bool) -> NewStoreFile:
    return NewStoreFile(file_id, at, AUTO, attributes)


async def make(vs: VectorStoreStore, store_id: str = "vs_1", *files: str, tenant: str = T) -> None:
    store = NewVectorStore(store_id, 100, "docs", {"k": "v"}, expires_after_days=7)
    await vs.create_store(store, [new_file(f) for f in files], tenant=tenant, now=100)


def window(
    after: str | None = None, before: str | None = None, limit: int = 20, order: str = "desc"
) -> Window:
    return Window(after, before, limit, "asc" if order == "asc" else "desc")


async def test_a_store_is_created_with_its_files_and_counts_them(vs: VectorStoreStore) -> None:
    await make(vs, "vs_1", "file-a", "file-b")
    got = await vs.get_store("vs_1", tenant=T)
    assert got is not None
    assert (got.name, dict(got.metadata), got.expires_after_days) == ("docs", {"k": "v"}, 7)
    assert got.counts == FileCounts(in_progress=2) and got.counts.total == 2 and got.usage_bytes == 0
    assert got.last_active_at == 100
    file = await vs.get_file("vs_1", "file-a", tenant=T)
    assert file is not None and file.status == "in_progress" and file.chunking == AUTO
    assert file.last_error is None and file.batch_id is None


async def test_stores_are_invisible_to_other_tenants(vs: VectorStoreStore) -> None:
    await make(vs, "vs_1", "file-a")
    assert await vs.get_store("vs_1", tenant="tenant-b") is None
    assert await vs.get_file("vs_1", "file-a", tenant="tenant-b") is None
    assert (await vs.list_stores(window(), tenant="tenant-b")).rows == ()
    assert await vs.list_files("vs_1", window(), tenant="tenant-b") is None
    assert await vs.update_store("vs_1", StoreUpdate(name="x"), tenant="tenant-b", now=1) is None
    assert not await vs.delete_file("vs_1", "file-a", tenant="tenant-b")
    assert not await vs.add_files("vs_1", [new_file("file-z")], tenant="tenant-b", now=1)
    assert not await vs.delete_store("vs_1", tenant="tenant-b")
    assert await vs.get_store("vs_1", tenant=T) is not None


async def test_stores_page_in_both_orders_with_cursors(vs: VectorStoreStore) -> None:
    for n in range(5):
        await make(vs, f"vs_{n}")
    newest = await vs.list_stores(window(limit=2), tenant=T)
    assert [s.id for s in newest.rows] == ["vs_4", "vs_3"] and newest.has_more
    rest = await vs.list_stores(window(after="vs_3", limit=10), tenant=T)
    assert [s.id for s in rest.rows] == ["vs_2", "vs_1", "vs_0"] and not rest.has_more
    oldest = await vs.list_stores(window(order="asc", after="vs_1", limit=2), tenant=T)
    assert [s.id for s in oldest.rows] == ["vs_2", "vs_3"] and oldest.has_more
    before = await vs.list_stores(window(before="vs_1", limit=2), tenant=T)
    assert [s.id for s in before.rows] == ["vs_3", "vs_2"] and before.has_more
    unknown = await vs.list_stores(window(after="vs_missing"), tenant=T)
    assert unknown.rows == ()


async def test_update_changes_what_it_names_and_keeps_the_rest(vs: VectorStoreStore) -> None:
    await make(vs)
    renamed = await vs.update_store("vs_1", StoreUpdate(name="new"), tenant=T, now=200)
    assert renamed is not None and renamed.name == "new" and dict(renamed.metadata) == {"k": "v"}
    assert renamed.expires_after_days == 7 and renamed.last_active_at == 200
    cleared = await vs.update_store("vs_1", StoreUpdate(metadata={}, expires_after_days=0), tenant=T, now=300)
    assert cleared is not None and dict(cleared.metadata) == {} and cleared.expires_after_days is None
    assert cleared.name == "new"
    await vs.touch_store("vs_1", tenant=T, now=400)
    touched = await vs.get_store("vs_1", tenant=T)
    assert touched is not None and touched.last_active_at == 400


async def test_files_are_added_listed_filtered_updated_and_deleted(vs: VectorStoreStore) -> None:
    await make(vs)
    files = [NewStoreFile(f"file-{n}", 100 + n, STATIC, {"n": n}) for n in range(4)]
    assert await vs.add_files("vs_1", files, tenant=T, now=150)
    page = await vs.list_files("vs_1", window(limit=3), tenant=T)
    assert page is not None and [f.file_id for f in page.rows] == ["file-3", "file-2", "file-1"]
    assert page.has_more and page.rows[0].chunking == STATIC and dict(page.rows[0].attributes) == {"n": 3}
    claims = await vs.claim_files("r1", now_ms=1, stale_before_ms=0, limit=1)
    assert [c.file_id for c in claims] == ["file-0"]
    assert await vs.finish_file("r1", claims[0].key, Outcome("completed", 42, ["one", "two"]))
    done = await vs.list_files("vs_1", window(), tenant=T, status="completed")
    assert done is not None and [f.file_id for f in done.rows] == ["file-0"]
    assert await vs.file_content("vs_1", "file-0", tenant=T) == ("one", "two")
    assert await vs.file_content("vs_1", "file-1", tenant=T) == ()
    updated = await vs.update_attributes("vs_1", "file-1", {"lang": "fr", "ok": True}, tenant=T)
    assert updated is not None and dict(updated.attributes) == {"lang": "fr", "ok": True}
    assert await vs.delete_file("vs_1", "file-1", tenant=T)
    assert await vs.get_file("vs_1", "file-1", tenant=T) is None
    assert not await vs.delete_file("vs_1", "file-1", tenant=T)
    store = await vs.get_store("vs_1", tenant=T)
    assert store is not None and store.counts == FileCounts(in_progress=2, completed=1)
    assert store.usage_bytes == 42 and store.last_active_at == 150


async def test_a_file_added_again_starts_over(vs: VectorStoreStore) -> None:
    await make(vs, "vs_1", "file-a")
    (claim,) = await vs.claim_files("r1", now_ms=1, stale_before_ms=0, limit=5)
    await vs.finish_file("r1", claim.key, Outcome("failed", error=FileError("invalid_file", "bad")))
    failed = await vs.get_file("vs_1", "file-a", tenant=T)
    assert failed is not None and failed.last_error == FileError("invalid_file", "bad")
    await vs.add_files("vs_1", [new_file("file-a", lang="en")], tenant=T, now=200)
    again = await vs.get_file("vs_1", "file-a", tenant=T)
    assert again is not None and again.status == "in_progress" and again.last_error is None
    assert dict(again.attributes) == {"lang": "en"}
    (retry,) = await vs.claim_files("r1", now_ms=2, stale_before_ms=0, limit=5)
    assert retry.attempts == 1


async def test_deleting_a_store_deletes_its_files_and_batches(vs: VectorStoreStore) -> None:
    await make(vs, "vs_1", "file-a")
    await vs.add_files("vs_1", [new_file("file-b")], tenant=T, now=1, batch_id="vsfb_1")
    assert await vs.delete_store("vs_1", tenant=T)
    assert await vs.get_store("vs_1", tenant=T) is None
    assert await vs.get_file("vs_1", "file-a", tenant=T) is None
    assert await vs.get_batch("vs_1", "vsfb_1", tenant=T) is None
    assert await vs.claim_files("r1", now_ms=1, stale_before_ms=0, limit=5) == []
    assert not await vs.delete_store("vs_1", tenant=T)


async def test_batches_count_their_files_and_cancel_what_is_left(vs: VectorStoreStore) -> None:
    await make(vs, "vs_1", "file-x")
    files = [new_file("file-a"), new_file("file-b"), new_file("file-c")]
    assert await vs.add_files("vs_1", files, tenant=T, now=1, batch_id="vsfb_1")
    batch = await vs.get_batch("vs_1", "vsfb_1", tenant=T)
    assert batch is not None and batch.status == "in_progress" and batch.counts == FileCounts(in_progress=3)
    claims = {c.file_id: c for c in await vs.claim_files("r1", now_ms=1, stale_before_ms=0, limit=10)}
    await vs.finish_file("r1", claims["file-a"].key, Outcome("completed", 5))
    cancelled = await vs.cancel_batch("vs_1", "vsfb_1", tenant=T)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.counts == FileCounts(completed=1, cancelled=2)
    assert not await vs.finish_file("r1", claims["file-b"].key, Outcome("completed", 5))  # too late
    in_batch = await vs.list_files("vs_1", window(), tenant=T, batch_id="vsfb_1", status="cancelled")
    assert in_batch is not None and {f.file_id for f in in_batch.rows} == {"file-b", "file-c"}
    outside = await vs.get_file("vs_1", "file-x", tenant=T)
    assert outside is not None and outside.status == "in_progress"
    assert await vs.get_batch("vs_1", "vsfb_1", tenant="tenant-b") is None
    assert await vs.cancel_batch("vs_1", "vsfb_missing", tenant=T) is None
    assert await vs.list_files("vs_1", window(), tenant=T, batch_id="vsfb_missing") is None


async def test_a_batch_whose_files_all_failed_is_failed(vs: VectorStoreStore) -> None:
    await make(vs)
    await vs.add_files("vs_1", [new_file("file-a")], tenant=T, now=1, batch_id="vsfb_1")
    (claim,) = await vs.claim_files("r1", now_ms=1, stale_before_ms=0, limit=10)
    await vs.finish_file("r1", claim.key, Outcome("failed", error=FileError("server_error", "x")))
    batch = await vs.get_batch("vs_1", "vsfb_1", tenant=T)
    assert batch is not None and batch.status == "failed" and batch.counts == FileCounts(failed=1)


async def test_a_file_is_claimed_by_one_replica_until_its_holder_goes_quiet(
    vs: VectorStoreStore, other: VectorStoreStore
) -> None:
    await make(vs, "vs_1", "file-a", "file-b")
    first = await vs.claim_files("r1", now_ms=1_000, stale_before_ms=0, limit=1)
    second = await other.claim_files("r2", now_ms=1_000, stale_before_ms=0, limit=5)
    assert [c.file_id for c in first] == ["file-a"] and [c.file_id for c in second] == ["file-b"]
    assert first[0].tenant == T and first[0].attempts == 1
    assert await other.claim_files("r2", now_ms=1_100, stale_before_ms=500, limit=5) == []
    assert await vs.heartbeat_files("r1", now_ms=2_000) == {("vs_1", "file-a")}
    assert await other.claim_files("r2", now_ms=2_100, stale_before_ms=1_500, limit=5) == []  # not its own
    taken = await other.claim_files("r2", now_ms=9_000, stale_before_ms=8_000, limit=5)  # r1 went quiet
    assert [(c.file_id, c.attempts) for c in taken] == [("file-a", 2)]
    assert await vs.heartbeat_files("r1", now_ms=9_001) == set()
    assert not await vs.finish_file("r1", ("vs_1", "file-a"), Outcome("completed", 1))
    assert await other.finish_file("r2", ("vs_1", "file-a"), Outcome("completed", 1))


async def test_released_files_are_claimed_again_without_counting_an_attempt(vs: VectorStoreStore) -> None:
    await make(vs, "vs_1", "file-a")
    await vs.claim_files("r1", now_ms=1, stale_before_ms=0, limit=5)
    assert await vs.release_files("r1") == 1
    (again,) = await vs.claim_files("r2", now_ms=2, stale_before_ms=0, limit=5)
    assert again.attempts == 1
