"""Stored rows as OpenAI's objects (protos): VectorStore, VectorStoreFile, VectorStoreFileBatch and
search results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rejoinder.responses.v1 import vector_stores_service_pb2 as pb
from rejoinder.store.vector_stores.base import (
    BatchRow,
    FileCounts,
    Page,
    StoreFileRow,
    VectorStoreRow,
)
from rejoinder.vectors.base import SearchHit
from rejoinder.vectors.chunking import ChunkingStrategy
from rejoinder.vectors.filters import AttributeValue

DAY_S = 86_400


def expires_at(row: VectorStoreRow) -> int | None:
    """When the store expires: `expires_after.days` after it was last active; None: never."""
    if row.expires_after_days is None:
        return None
    return row.last_active_at + row.expires_after_days * DAY_S


def is_expired(row: VectorStoreRow, now: float) -> bool:
    at = expires_at(row)
    return at is not None and now >= at


def counts(value: FileCounts) -> pb.VectorStoreFileCounts:
    return pb.VectorStoreFileCounts(
        in_progress=value.in_progress,
        completed=value.completed,
        failed=value.failed,
        cancelled=value.cancelled,
        total=value.total,
    )


def vector_store(row: VectorStoreRow, now: float) -> pb.VectorStore:
    status = "in_progress" if row.counts.in_progress else "completed"
    out = pb.VectorStore(
        id=row.id,
        object="vector_store",
        created_at=row.created_at,
        name=row.name,
        usage_bytes=row.usage_bytes,
        file_counts=counts(row.counts),
        status="expired" if is_expired(row, now) else status,
        last_active_at=row.last_active_at,
        metadata=dict(row.metadata),
    )
    at = expires_at(row)
    if at is not None and row.expires_after_days is not None:
        out.expires_after.CopyFrom(
            pb.VectorStoreExpiresAfter(anchor="last_active_at", days=row.expires_after_days)
        )
        out.expires_at = at
    return out


def chunking(strategy: ChunkingStrategy) -> pb.ChunkingStrategy:
    """As OpenAI replies: the sizes, under "static", also for a file chunked the "auto" way."""
    out = pb.ChunkingStrategy()
    out.static.static.max_chunk_size_tokens = strategy.max_chunk_size_tokens
    out.static.static.chunk_overlap_tokens = strategy.chunk_overlap_tokens
    return out


def attributes_into(
    target: pb.VectorStoreFile | pb.VectorStoreSearchResult, value: Mapping[str, AttributeValue]
) -> None:
    target.attributes.update(dict(value))


def vector_store_file(row: StoreFileRow) -> pb.VectorStoreFile:
    out = pb.VectorStoreFile(
        id=row.file_id,
        object="vector_store.file",
        created_at=row.created_at,
        vector_store_id=row.vector_store_id,
        status=row.status,
        usage_bytes=row.usage_bytes,
        chunking_strategy=chunking(row.chunking),
    )
    if row.last_error is not None:
        out.last_error.CopyFrom(
            pb.VectorStoreFileError(code=row.last_error.code, message=row.last_error.message)
        )
    attributes_into(out, row.attributes)
    return out


def batch(row: BatchRow) -> pb.VectorStoreFileBatch:
    return pb.VectorStoreFileBatch(
        id=row.id,
        object="vector_store.files_batch",
        created_at=row.created_at,
        vector_store_id=row.vector_store_id,
        status=row.status,
        file_counts=counts(row.counts),
    )


def file_page(page: Page[StoreFileRow]) -> tuple[list[pb.VectorStoreFile], str | None, str | None]:
    """The files of a page, and its first and last IDs."""
    files = [vector_store_file(r) for r in page.rows]
    if not files:
        return files, None, None
    return files, files[0].id, files[-1].id


def search_page(queries: Sequence[str], hits: Sequence[SearchHit]) -> pb.SearchVectorStoreResponse:
    """OpenAI's page of results: one per chunk found, best first; `search_query` the queries as given."""
    out = pb.SearchVectorStoreResponse(object="vector_store.search_results.page", search_query=queries)
    for hit in hits:
        result = out.data.add(file_id=hit.file_id, filename=hit.filename, score=hit.score)
        attributes_into(result, hit.attributes)
        result.content.add(type="text", text=hit.content)
    return out
