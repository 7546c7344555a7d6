"""`VectorIndex` on PostgreSQL with pgvector: what replicas sharing a PostgreSQL store search.

- **Vectors**: a pgvector `vector` column (any dimension: a model's vectors share one), unit length as
  written; the vector half orders by cosine distance (`<=>`) over the chunks the search may see. Exact:
  no approximate index (an HNSW index needs one dimension per column and misses rows under filters).
- **Keyword**: a stored english tsvector of each chunk's text under a GIN index; the keyword half is the
  query's words OR-ed (`to_tsquery`) and ranked by `ts_rank_cd`.
- Filters are evaluated in Python (filters.py) over the stores' files, as on SQLite, and the allowed
  (store, file) pairs passed to both halves, so both stores filter alike. A search reads one
  repeatable-read snapshot. Vectors travel as text (`'[0.1,...]'::vector`): asyncpg has no codec for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import asyncpg

from rejoinder.vectors.base import FileChunks, Query, SearchHit
from rejoinder.vectors.errors import InvalidParam
from rejoinder.vectors.filters import AttributeValue, matches
from rejoinder.vectors.fusion import DEPTH, fuse, query_terms, top
from rejoinder.vectors.matrix import unit
from rejoinder.vectors.postgres_schema import migrate

if TYPE_CHECKING:
    from rejoinder.store.postgres_schema import Conn

DEFAULT_POOL_SIZE = 5

Files = dict[tuple[str, str], tuple[str, dict[str, AttributeValue]]]  # (store, file) -> name, attributes

_INSERT_CHUNKS = """
INSERT INTO vector_index_chunks (tenant, vector_store_id, file_id, model, position, text, embedding)
SELECT $1, $2, $3, $4, t.position, t.text, t.embedding::vector
FROM unnest($5::integer[], $6::text[], $7::text[]) AS t (position, text, embedding)
"""
_UPSERT_FILE = """
INSERT INTO vector_index_files (tenant, vector_store_id, file_id, filename, attributes)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant, vector_store_id, file_id)
DO UPDATE SET filename = excluded.filename, attributes = excluded.attributes
"""
_MODEL_DIMENSIONS = """
SELECT vector_dims(embedding) FROM vector_index_chunks
WHERE tenant = $1 AND vector_store_id = $2 AND model = $3 LIMIT 1
"""
_PAIRS = "(vector_store_id, file_id) IN (SELECT * FROM unnest({}::text[], {}::text[]))"


def _literal(values: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in unit(values)) + "]"


class PostgresVectorIndex:
    """Chunks, their vectors and full text in PostgreSQL; open with `await open(dsn)` or `on(pool)`."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], *, owned: bool) -> None:
        """Use `open` or `on`."""
        self._pool = pool
        self._owned = owned
        self._closed = False

    @classmethod
    async def open(cls, dsn: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> PostgresVectorIndex:
        """Connect (a `postgresql://` URL), create pgvector if needed and bring the tables up to date."""
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, owned=True)

    @classmethod
    async def on(cls, pool: asyncpg.Pool[asyncpg.Record]) -> PostgresVectorIndex:
        """Share a pool (the store's); `close` leaves it open."""
        async with pool.acquire() as conn:
            await migrate(conn)
        return cls(pool, owned=False)

    async def add_file(self, file: FileChunks) -> None:
        """Store a file's chunks in its vector store, replacing any it had there."""
        self._check_open()
        positions = [chunk.position for chunk in file.chunks]
        texts = [chunk.text for chunk in file.chunks]
        vectors = [_literal(chunk.embedding) for chunk in file.chunks]
        key = (file.tenant, file.vector_store_id, file.file_id)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_UPSERT_FILE, *key, file.filename, json.dumps(dict(file.attributes)))
            await conn.execute(
                "DELETE FROM vector_index_chunks WHERE tenant = $1 AND vector_store_id = $2 AND file_id = $3",
                *key,
            )
            await _check_dimensions(conn, file)
            await conn.execute(_INSERT_CHUNKS, *key, file.embedding_model, positions, texts, vectors)

    async def delete_file(self, tenant: str, vector_store_id: str, file_id: str) -> bool:
        """Remove a file's chunks from one vector store; False when it had none there."""
        self._check_open()
        status: str = await self._pool.execute(
            "DELETE FROM vector_index_files WHERE tenant = $1 AND vector_store_id = $2 AND file_id = $3",
            tenant,
            vector_store_id,
            file_id,
        )
        return status != "DELETE 0"

    async def delete_store(self, tenant: str, vector_store_id: str) -> int:
        """Remove every chunk of a vector store; how many files it held."""
        self._check_open()
        status: str = await self._pool.execute(
            "DELETE FROM vector_index_files WHERE tenant = $1 AND vector_store_id = $2",
            tenant,
            vector_store_id,
        )
        return int(status.split()[-1])

    async def update_attributes(
        self, tenant: str, vector_store_id: str, file_id: str, attributes: Mapping[str, AttributeValue]
    ) -> bool:
        """Replace a file's attributes in one vector store; False when the file is not there."""
        self._check_open()
        status: str = await self._pool.execute(
            "UPDATE vector_index_files SET attributes = $4"
            " WHERE tenant = $1 AND vector_store_id = $2 AND file_id = $3",
            tenant,
            vector_store_id,
            file_id,
            json.dumps(dict(attributes)),
        )
        return status != "UPDATE 0"

    async def search(self, tenant: str, vector_store_ids: Sequence[str], query: Query) -> list[SearchHit]:
        """The best chunks for the query (fusion.py), best first."""
        self._check_open()
        stores = list(dict.fromkeys(vector_store_ids))
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            files = await _files(conn, tenant, stores)
            pairs = None
            if query.filters is not None:
                flt = query.filters
                pairs = [key for key, (_, attrs) in files.items() if matches(flt, attrs)]
            vector = await _vector(conn, tenant, stores, query, pairs)
            keyword = await _keyword(conn, tenant, stores, query, pairs)
            fused = fuse(query.mode, vector, keyword, query.weights)
            chosen = top(fused, query.max_num_results, query.score_threshold)
            rows = await conn.fetch(
                "SELECT id, vector_store_id, file_id, position, text FROM vector_index_chunks"
                " WHERE id = ANY($1)",
                [chunk for chunk, _ in chosen],
            )
        by_id = {row["id"]: row for row in rows}
        found: list[SearchHit] = []
        for chunk, score in chosen:
            row = by_id[chunk]
            filename, attributes = files[(row["vector_store_id"], row["file_id"])]
            found.append(
                SearchHit(
                    row["vector_store_id"],
                    row["file_id"],
                    filename,
                    score,
                    attributes,
                    row["text"],
                    row["position"],
                )
            )
        return found

    async def close(self) -> None:
        """Close the pool when this index opened it; later calls raise RuntimeError."""
        if self._closed:
            return
        self._closed = True
        if self._owned:
            await self._pool.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the vector index is closed")


async def _check_dimensions(conn: Conn, file: FileChunks) -> None:
    sizes = {len(chunk.embedding) for chunk in file.chunks}
    found = await conn.fetchval(_MODEL_DIMENSIONS, file.tenant, file.vector_store_id, file.embedding_model)
    if found is not None:
        sizes.add(found)
    if len(sizes) > 1 or 0 in sizes:
        raise ValueError(f"embeddings of model {file.embedding_model!r} differ in size: {sorted(sizes)}")


async def _files(conn: Conn, tenant: str, stores: list[str]) -> Files:
    rows = await conn.fetch(
        "SELECT vector_store_id, file_id, filename, attributes FROM vector_index_files"
        " WHERE tenant = $1 AND vector_store_id = ANY($2::text[])",
        tenant,
        stores,
    )
    return {(r["vector_store_id"], r["file_id"]): (r["filename"], json.loads(r["attributes"])) for r in rows}


def _scope(params: list[object], pairs: list[tuple[str, str]] | None) -> str:
    """The `AND (store, file) IN ...` clause for the allowed pairs ('' for all), its params appended."""
    if pairs is None:
        return ""
    params += [[store for store, _ in pairs], [file for _, file in pairs]]
    return " AND " + _PAIRS.format(f"${len(params) - 1}", f"${len(params)}")


async def _vector(
    conn: Conn,
    tenant: str,
    stores: list[str],
    query: Query,
    pairs: list[tuple[str, str]] | None,
) -> list[tuple[int, float]]:
    if query.mode == "keyword" or query.embedding is None or query.embedding_model is None:
        return []
    dimensions = await conn.fetchval(
        "SELECT vector_dims(embedding) FROM vector_index_chunks"
        " WHERE tenant = $1 AND vector_store_id = ANY($2::text[]) AND model = $3 LIMIT 1",
        tenant,
        stores,
        query.embedding_model,
    )
    if dimensions is not None and dimensions != len(query.embedding):
        raise InvalidParam(
            f"the query's embedding has {len(query.embedding)} dimensions; "
            f"this model's vectors have {dimensions}",
            param="query",
        )
    params: list[object] = [_literal(query.embedding), tenant, stores, query.embedding_model]
    scope = _scope(params, pairs)
    params.append(DEPTH)
    # The query vector is parsed once (a CTE), not once per row as a cast of the parameter would be
    # under a generic plan (seen: 72 ms instead of 2 ms at 2,000 chunks).
    rows = await conn.fetch(
        "WITH q AS MATERIALIZED (SELECT $1::text::vector AS v)"
        " SELECT id, embedding <=> q.v AS distance FROM vector_index_chunks, q"
        f" WHERE tenant = $2 AND vector_store_id = ANY($3::text[]) AND model = $4{scope}"
        f" ORDER BY distance, id LIMIT ${len(params)}",
        *params,
    )
    return [(row["id"], 1.0 - float(row["distance"])) for row in rows]


async def _keyword(
    conn: Conn,
    tenant: str,
    stores: list[str],
    query: Query,
    pairs: list[tuple[str, str]] | None,
) -> list[int]:
    terms = query_terms(query.text)
    if query.mode == "vector" or not terms:
        return []
    params: list[object] = [" | ".join(terms), tenant, stores]
    model = ""
    if query.embedding_model is not None:
        params.append(query.embedding_model)
        model = f" AND model = ${len(params)}"
    scope = _scope(params, pairs)
    params.append(DEPTH)
    rows = await conn.fetch(
        "SELECT id FROM vector_index_chunks, to_tsquery('rejoinder_english', $1) AS q"
        f" WHERE tsv @@ q AND tenant = $2 AND vector_store_id = ANY($3::text[]){model}{scope}"
        f" ORDER BY ts_rank_cd(tsv, q) DESC, id LIMIT ${len(params)}",
        *params,
    )
    return [row["id"] for row in rows]
