"""Background ingestion of vector store files with real parts (SQLite store and file store, the SQLite
index, the embedded embedding model) and a clock the test moves: claims, takeover of a dead replica's
files, the attempts limit, a restart under the same identity, the concurrency bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rejoinder.core.vector_stores.ingestion import Ingester, IngestOptions, IngestParts
from rejoinder.core.vector_stores.sources import StoreFileSource
from rejoinder.embeddings.local import LocalEmbedder
from rejoinder.embeddings.upstream import UpstreamEmbedder, UpstreamEmbeddingConfig
from rejoinder.store.files.base import NewFile
from rejoinder.store.files.blob_dir import BlobDir
from rejoinder.store.files.sqlite import SqliteFileStore
from rejoinder.store.sqlite import SqliteStore
from rejoinder.store.vector_stores.base import (
    NewStoreFile,
    NewVectorStore,
    Outcome,
    StoreFileRow,
    VectorStoreStore,
)
from rejoinder.store.vector_stores.db import vector_stores_of
from rejoinder.vectors.base import Query
from rejoinder.vectors.chunking import AUTO
from rejoinder.vectors.sqlite import SqliteVectorIndex
from tests.fakes import FakeClock
from tests.scripted_upstream import ScriptedUpstream

T = "tenant"
LEASE_S = 10.0
OPTIONS = IngestOptions(concurrency=2, lease_s=LEASE_S, poll_s=0.05, max_attempts=3)


@dataclass
class World:
    store: SqliteStore
    metadata: VectorStoreStore
    files: SqliteFileStore
    index: SqliteVectorIndex
    embedder: LocalEmbedder
    clock: FakeClock

    def parts(self) -> IngestParts:
        return IngestParts(
            self.metadata, self.index, self.embedder, StoreFileSource(self.files, self.clock), self.clock
        )

    async def upload(self, file_id: str, text: str) -> None:
        async def content() -> AsyncIterator[bytes]:
            yield text.encode()

        new = NewFile(file_id, f"{file_id}.txt", "assistants", int(self.clock.now()))
        await self.files.create_file(file_id, content(), lambda: new, tenant=T)

    async def add(self, *file_ids: str) -> None:
        for file_id in file_ids:
            await self.upload(file_id, f"Notes of {file_id}: the heron fishes in the shallow marsh at dawn.")
        files = [NewStoreFile(f, int(self.clock.now()), AUTO) for f in file_ids]
        if await self.metadata.get_store("vs_1", tenant=T) is None:
            await self.metadata.create_store(NewVectorStore("vs_1", 1, "s", {}), files, tenant=T, now=1)
        else:
            await self.metadata.add_files("vs_1", files, tenant=T, now=1)

    async def settled(self, file_id: str) -> StoreFileRow:
        for _ in range(600):
            row = await self.metadata.get_file("vs_1", file_id, tenant=T)
            assert row is not None
            if row.status != "in_progress":
                return row
            await asyncio.sleep(0.05)
        raise AssertionError(f"{file_id} is still in progress")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = await SqliteStore.open(tmp_path / "data" / "rejoinder.db")
    index = await SqliteVectorIndex.open(tmp_path / "data" / "vectors.db")
    embedder = LocalEmbedder(64)
    files = SqliteFileStore(store, BlobDir(tmp_path / "data" / "files"))
    yield World(store, vector_stores_of(store), files, index, embedder, FakeClock())
    await embedder.aclose()
    await index.close()
    await store.close()


async def test_a_file_is_ingested_and_searchable(world: World) -> None:
    await world.add("file-1")
    ingester = Ingester(world.parts(), "r1", OPTIONS)
    assert await ingester.tick() == 1
    row = await world.settled("file-1")
    assert row.status == "completed" and row.usage_bytes > 0
    assert await world.metadata.file_content("vs_1", "file-1", tenant=T) == (
        "Notes of file-1: the heron fishes in the shallow marsh at dawn.",
    )
    [vector] = await world.embedder.embed(["heron"])
    query = Query("heron", vector, world.embedder.model)
    hits = await world.index.search(T, ["vs_1"], query)
    assert [h.file_id for h in hits] == ["file-1"]
    await ingester.close()


async def test_a_dead_replicas_file_is_taken_over_once_its_lease_lapses(world: World) -> None:
    await world.add("file-1")
    now_ms = int(world.clock.now() * 1000)
    [claim] = await world.metadata.claim_files(
        "dead", now_ms=now_ms, stale_before_ms=0, limit=5
    )  # then it died
    ingester = Ingester(world.parts(), "r2", OPTIONS)
    assert await ingester.tick() == 0  # its holder may still be alive
    world.clock.advance(LEASE_S - 1)
    assert await ingester.tick() == 0
    world.clock.advance(2)
    assert await ingester.tick() == 1
    row = await world.settled("file-1")
    assert row.status == "completed"
    assert not await world.metadata.finish_file("dead", claim.key, Outcome("completed", 1))  # too late
    await ingester.close()


async def test_a_file_whose_ingestion_keeps_dying_ends_failed(world: World) -> None:
    await world.add("file-1")
    for attempt in range(OPTIONS.max_attempts):
        now_ms = int(world.clock.now() * 1000)
        stale = now_ms - int(LEASE_S * 1000)
        assert (
            len(
                await world.metadata.claim_files(
                    f"crashy-{attempt}", now_ms=now_ms, stale_before_ms=stale, limit=5
                )
            )
            == 1
        )
        world.clock.advance(LEASE_S + 1)  # ... and died again
    ingester = Ingester(world.parts(), "r2", OPTIONS)
    assert await ingester.tick() == 1
    row = await world.settled("file-1")
    assert row.status == "failed" and row.last_error is not None
    assert row.last_error.code == "server_error" and "interrupted 3 times" in row.last_error.message
    await ingester.close()


async def test_a_replica_restarted_under_its_identity_ingests_its_files_again(world: World) -> None:
    await world.add("file-1")
    now_ms = int(world.clock.now() * 1000)
    await world.metadata.claim_files("r1", now_ms=now_ms, stale_before_ms=0, limit=5)  # r1 stopped mid-way
    again = Ingester(world.parts(), "r1", OPTIONS)
    await again.start()  # gives back r1's old holds, then claims at once (no lease to wait for)
    row = await world.settled("file-1")
    assert row.status == "completed"
    await again.close()


async def test_at_most_concurrency_files_at_once_and_the_rest_follow(world: World) -> None:
    await world.add(*(f"file-{n}" for n in range(5)))
    ingester = Ingester(world.parts(), "r1", OPTIONS)
    assert await ingester.tick() == 2
    assert await ingester.tick() == 0  # both slots busy
    await ingester.start()  # the loop claims the rest as slots free up
    for n in range(5):
        assert (await world.settled(f"file-{n}")).status == "completed"
    await ingester.close()


async def test_a_binary_file_fails_as_unsupported_and_an_empty_one_as_invalid(world: World) -> None:
    await world.upload("file-bin", "")

    async def garbage() -> AsyncIterator[bytes]:
        yield bytes(range(256)) * 8

    new = NewFile("file-raw", "raw.bin", "assistants", 1)
    await world.files.create_file("file-raw", garbage(), lambda: new, tenant=T)
    files = [NewStoreFile(f, 1, AUTO) for f in ("file-bin", "file-raw")]
    await world.metadata.create_store(NewVectorStore("vs_1", 1, "s", {}), files, tenant=T, now=1)
    ingester = Ingester(world.parts(), "r1", OPTIONS)
    await ingester.start()
    empty, raw = await world.settled("file-bin"), await world.settled("file-raw")
    assert empty.last_error is not None and empty.last_error.code == "invalid_file"
    assert raw.last_error is not None and raw.last_error.code == "unsupported_file"
    await ingester.close()


async def test_a_file_deleted_while_it_is_ingested_leaves_no_chunks(world: World) -> None:
    await world.add("file-1", "file-2")
    ingester = Ingester(world.parts(), "r1", OPTIONS)
    assert await ingester.tick() == 2
    await world.metadata.delete_file("vs_1", "file-1", tenant=T)  # before its ingestion could end
    for _ in range(600):
        if not ingester.busy:
            break
        await asyncio.sleep(0.05)
    assert (await world.settled("file-2")).status == "completed"
    [vector] = await world.embedder.embed(["heron"])
    hits = await world.index.search(T, ["vs_1"], Query("heron", vector, world.embedder.model))
    assert [h.file_id for h in hits] == ["file-2"]
    await ingester.close()


@pytest.fixture
def scripted() -> Iterator[ScriptedUpstream]:
    upstream = ScriptedUpstream().start()
    yield upstream
    upstream.stop()


@pytest.mark.parametrize(
    ("faults", "status", "requests"),
    [
        ([500, 429], "completed", 3),  # retryable twice, then it answers
        ([400], "failed", 1),  # not retryable
        ([500, 503, 500], "failed", 3),  # retryable, but it never answers
    ],
)
async def test_retryable_embedding_errors_are_tried_again(
    world: World, scripted: ScriptedUpstream, faults: list[int], status: str, requests: int
) -> None:
    await world.add("file-1")
    scripted.embedding_faults.extend(faults)
    embedder = UpstreamEmbedder(UpstreamEmbeddingConfig(scripted.base_url, "emb", timeout_s=5))
    parts = IngestParts(
        world.metadata, world.index, embedder, StoreFileSource(world.files, world.clock), world.clock
    )
    ingester = Ingester(parts, "r1", IngestOptions(lease_s=LEASE_S, embed_retry_s=(0.01, 0.01)))
    assert await ingester.tick() == 1
    row = await world.settled("file-1")
    assert row.status == status and len(scripted.embedding_requests) == requests
    if status == "failed":
        assert row.last_error is not None and row.last_error.code == "server_error"
    await ingester.close()
    await embedder.aclose()
