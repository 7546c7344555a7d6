"""Ingestion: files added to vector stores, read, extracted, chunked, embedded and indexed in the background.

Adding a file stores it `in_progress` and returns; any replica's `Ingester` then claims it in the store
(`VectorStoreStore.claim_files`) and runs it: the file's bytes from the Files API, `extract_text` and
`chunk_text` in a thread (CPU-bound; the event loop stays free), the embedder (off the loop by
contract), the index. It ends `completed` with `usage_bytes` (the chunks' UTF-8 text plus 4 bytes per
vector dimension) or `failed` with `last_error`: `unsupported_file` for a kind of file we do not read,
`invalid_file` for a broken or empty file (or one deleted before it was read), `server_error` for the
rest (the embedder refused, or failed again after a retryable error was tried again twice, after 1 and
4 s; the index failed).

Several replicas and worker processes share the work through the store, as background responses do:
each claims at most `concurrency` files at once, renews its hold every `lease_s / 5`, and a file whose
holder was not heard of for `lease_s` (a replica that died) is claimed again by whichever replica
looks next and ingested from the start. A file whose ingestion started `max_attempts` times ends
`failed` (`server_error`) instead of taking down replica after replica. A replica that starts again
under the same identity gives back its old holds at once, and one that stops gives back what it holds
(those attempts do not count). A file deleted, re-added or cancelled with its batch while it is being
ingested is noticed at the next heartbeat: its ingestion stops, and chunks it indexed for a file no
longer in the store are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass

from rejoinder.core.clock import Clock
from rejoinder.core.vector_stores.sources import FileSource
from rejoinder.embeddings.base import Embedder, EmbeddingError
from rejoinder.extract import ExtractError, extract_text
from rejoinder.observe.observer import SILENT, Observer
from rejoinder.store.vector_stores.base import Claim, FileError, Outcome, VectorStoreStore
from rejoinder.vectors.base import ChunkRecord, FileChunks, VectorIndex
from rejoinder.vectors.chunking import chunk_text

log = logging.getLogger(__name__)
FLOAT_BYTES = 4


@dataclass(frozen=True)
class IngestOptions:
    """How much one process ingests at once, and how claims are kept."""

    concurrency: int = 2
    lease_s: float = 15.0
    poll_s: float = 1.0
    max_attempts: int = 3
    embed_retry_s: tuple[float, ...] = (1.0, 4.0)  # waits before trying a retryable embedding error again


@dataclass(frozen=True)
class IngestParts:
    """What ingestion reads and writes."""

    store: VectorStoreStore
    index: VectorIndex
    embedder: Embedder
    files: FileSource
    clock: Clock


def failed(code: str, message: str) -> Outcome:
    return Outcome("failed", error=FileError(code, message))


class Ingester:
    """This process's share of ingestion: a loop that claims files and a task per file it holds."""

    def __init__(
        self,
        parts: IngestParts,
        owner: str,
        options: IngestOptions = IngestOptions(),
        observer: Observer = SILENT,
    ) -> None:
        self._parts = parts
        self._owner = owner
        self._options = options
        self._observer = observer
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._last_beat = 0.0

    @property
    def busy(self) -> int:
        """How many files this process is ingesting now."""
        return len(self._tasks)

    def wake(self) -> None:
        """Files were added: look for them now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        """Give back the holds an earlier process of this identity left, then start claiming."""
        released = await self._parts.store.release_files(self._owner)
        if released:
            log.info(
                "vector stores: %d file(s) this replica was ingesting when it stopped start over", released
            )
        self._loop = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop claiming, stop the ingestions under way and give their files back (another replica, or
        this one when it starts again, ingests them)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._parts.store.release_files(self._owner)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("vector stores: ingestion round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), min(self._options.poll_s, self._options.lease_s / 5)
                )
            self._wake.clear()

    async def tick(self) -> int:
        """One round: renew holds (when due), then claim files for the free slots; how many claimed."""
        now = self._parts.clock.now()
        if self._tasks and now - self._last_beat >= self._options.lease_s / 5:
            await self._heartbeat(now)
        free = self._options.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        now_ms = int(now * 1000)
        stale = now_ms - int(self._options.lease_s * 1000)
        claims = await self._parts.store.claim_files(
            self._owner, now_ms=now_ms, stale_before_ms=stale, limit=free
        )
        for claim in claims:
            task = asyncio.get_running_loop().create_task(self._drive(claim))
            self._tasks[claim.key] = task
            task.add_done_callback(functools.partial(self._ended, claim.key))
        return len(claims)

    def _ended(self, key: tuple[str, str], _: object = None) -> None:
        self._tasks.pop(key, None)
        self._wake.set()  # a slot is free

    async def _heartbeat(self, now: float) -> None:
        held = await self._parts.store.heartbeat_files(self._owner, now_ms=int(now * 1000))
        self._last_beat = now
        for key, task in list(self._tasks.items()):
            if key not in held:  # deleted, re-added, cancelled or taken over
                task.cancel()

    async def _drive(self, claim: Claim) -> None:
        started = time.monotonic()
        chunks = 0
        try:
            if claim.attempts > self._options.max_attempts:
                outcome = failed(
                    "server_error",
                    f"Ingestion of this file was interrupted {claim.attempts - 1} times; it was given up.",
                )
            else:
                outcome = await self.ingest(claim)
            chunks = len(outcome.chunks)
            if not await self._parts.store.finish_file(self._owner, claim.key, outcome):
                await self._tidy(claim)
                return
        except asyncio.CancelledError:
            await asyncio.shield(self._tidy(claim))
            raise
        except Exception:
            log.exception("vector stores: ingesting %s failed", claim.file_id)
            outcome = failed("server_error", "The server failed while ingesting this file.")
            await self._parts.store.finish_file(self._owner, claim.key, outcome)
        code = "completed" if outcome.error is None else outcome.error.code
        if self._observer.metrics is not None:
            self._observer.metrics.ingested(code, chunks, time.monotonic() - started)

    async def _tidy(self, claim: Claim) -> None:
        """Ingestion of `claim` stopped without writing its end: drop its chunks if the file left the
        store (deleted, or cancelled); a file taken over or re-added is the new ingestion's."""
        with contextlib.suppress(Exception):
            row = await self._parts.store.get_file(claim.vector_store_id, claim.file_id, tenant=claim.tenant)
            if row is None or row.status == "cancelled":
                await self._parts.index.delete_file(claim.tenant, claim.vector_store_id, claim.file_id)

    async def ingest(self, claim: Claim) -> Outcome:
        """Read, extract, chunk, embed and index one file; how it ended (never raises for a bad file)."""
        found = await self._parts.files.read(claim.tenant, claim.file_id)
        if found is None:
            return failed("invalid_file", "The file was deleted before it could be read.")
        source, data = found
        try:
            extracted = await asyncio.to_thread(
                extract_text, data, filename=source.filename, content_type=None
            )
        except ExtractError as err:
            return failed("unsupported_file" if err.unsupported else "invalid_file", err.message)
        chunks = await asyncio.to_thread(chunk_text, extracted.text, claim.chunking)
        if not chunks:
            return failed("invalid_file", "The file has no text to search.")
        texts = [chunk.text for chunk in chunks]
        embedder = self._parts.embedder
        try:
            vectors = await self._embed(texts)
        except EmbeddingError as err:
            return failed("server_error", f"The file's text could not be embedded: {err.message}")
        records = [ChunkRecord(c.text, c.position, v) for c, v in zip(chunks, vectors, strict=True)]
        attributes = await self._attributes(claim)
        file = FileChunks(
            claim.tenant,
            claim.vector_store_id,
            claim.file_id,
            source.filename,
            attributes,
            embedder.model,
            records,
        )
        await self._parts.index.add_file(file)
        usage = sum(len(t.encode()) for t in texts) + FLOAT_BYTES * embedder.dimensions * len(records)
        return Outcome("completed", usage, texts)

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        """The texts' vectors; an error the embedder calls retryable (a 429, a 5xx, a timeout) is tried
        again after each wait of `embed_retry_s` (the file's claim is renewed meanwhile)."""
        for wait_s in (*self._options.embed_retry_s, None):
            try:
                return await self._parts.embedder.embed(texts)
            except EmbeddingError as err:
                if not err.retryable or wait_s is None:
                    raise
                log.warning("vector stores: embedding failed (%s); trying again in %g s", err.message, wait_s)
                await asyncio.sleep(wait_s)
        raise AssertionError("unreachable")

    async def _attributes(self, claim: Claim) -> dict[str, str | float | bool]:
        """The file's attributes now (they may have changed since it was claimed)."""
        row = await self._parts.store.get_file(claim.vector_store_id, claim.file_id, tenant=claim.tenant)
        return dict(row.attributes if row is not None else claim.attributes)
