"""Searching vector stores: what `POST /v1/vector_stores/{id}/search` and the file_search tool call.

`VectorSearch.search(tenant, vector_store_ids, query, max_num_results, filters, ranking_options)` embeds
the query (or each of several queries, in one call), asks the index for each, and merges the hits: a
chunk found by several queries keeps its best score. The index ranks (vectors/fusion.py): `ranker`
"auto" and "default-2024-11-15" rank by hybrid search (embeddings and keywords, weighed by
`hybrid_search`), "none" by embedding similarity alone; `score_threshold` drops weaker hits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rejoinder.core.clock import Clock
from rejoinder.core.vector_stores import checks
from rejoinder.core.vector_stores.objects import is_expired
from rejoinder.embeddings.base import Embedder, EmbeddingError
from rejoinder.errors import ApiError, ErrorKind, clip, invalid, not_found
from rejoinder.observe.observer import SILENT, Observer
from rejoinder.responses.v1 import vector_stores_service_pb2 as pb
from rejoinder.store.vector_stores.base import VectorStoreStore
from rejoinder.vectors.base import DEFAULT_NUM_RESULTS, Query, SearchHit, SearchMode, VectorIndex, Weights
from rejoinder.vectors.errors import InvalidParam
from rejoinder.vectors.filters import Filter

MAX_QUERIES = 10


@dataclass(frozen=True)
class Ranking:
    """OpenAI's `ranking_options`, checked."""

    ranker: str = "auto"
    score_threshold: float = 0.0
    weights: Weights = field(default_factory=Weights)

    @property
    def mode(self) -> SearchMode:
        return "vector" if self.ranker == "none" else "hybrid"


def missing_store(vector_store_id: str, param: str = "vector_store_id") -> ApiError:
    """The 404 of a vector store that does not exist (or is another tenant's)."""
    return not_found(f"No vector store found with id '{clip(vector_store_id)}'.", param=param)


def _weights(embedding: object, text: object, param: str) -> Weights:
    for name, value in (("embedding_weight", embedding), ("text_weight", text)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(f"Invalid type for '{param}.{name}': expected a number.", param=f"{param}.{name}")
    try:
        return Weights(float(embedding), float(text))  # type: ignore[arg-type]
    except InvalidParam as err:
        raise checks.bad_param(err) from err


def _threshold(value: float, param: str) -> float:
    if not 0 <= value <= 1:
        raise invalid(
            f"Invalid '{param}': expected a value between 0 and 1, but got {value} instead.",
            param=param,
            code="invalid_value",
        )
    return value


def ranking_from_proto(value: pb.RankingOptions, present: bool) -> Ranking:
    """A search request's `ranking_options`. Raises 400."""
    if not present:
        return Ranking()
    ranker = checks.ranker(value.ranker) if value.HasField("ranker") else "auto"
    threshold = (
        _threshold(value.score_threshold, "ranking_options.score_threshold")
        if value.HasField("score_threshold")
        else 0.0
    )
    weights = Weights()
    if value.HasField("hybrid_search"):
        hybrid = value.hybrid_search
        weights = _weights(hybrid.embedding_weight, hybrid.text_weight, "ranking_options.hybrid_search")
    return Ranking(ranker, threshold, weights)


def ranking_from_json(value: Mapping[str, object], param: str = "ranking_options") -> Ranking:
    """The file_search tool's `ranking_options` (a JSON object). Raises 400."""
    ranker = value.get("ranker", "auto")
    if not isinstance(ranker, str):
        raise invalid(f"Invalid type for '{param}.ranker': expected a string.", param=f"{param}.ranker")
    threshold = value.get("score_threshold", 0.0)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise invalid(
            f"Invalid type for '{param}.score_threshold': expected a number.",
            param=f"{param}.score_threshold",
        )
    hybrid = value.get("hybrid_search")
    weights = Weights()
    if isinstance(hybrid, Mapping):
        weights = _weights(
            hybrid.get("embedding_weight", 1.0), hybrid.get("text_weight", 1.0), f"{param}.hybrid_search"
        )
    elif hybrid is not None:
        raise invalid(
            f"Invalid type for '{param}.hybrid_search': expected an object.", param=f"{param}.hybrid_search"
        )
    checks.ranker(ranker)
    return Ranking(ranker, _threshold(float(threshold), f"{param}.score_threshold"), weights)


class VectorSearch:
    """Searches a tenant's vector stores."""

    def __init__(
        self,
        store: VectorStoreStore,
        index: VectorIndex,
        embedder: Embedder,
        clock: Clock,
        observer: Observer = SILENT,
    ) -> None:
        self._store = store
        self._index = index
        self._embedder = embedder
        self._clock = clock
        self._observer = observer

    async def search(
        self,
        tenant: str,
        vector_store_ids: Sequence[str],
        query: str | Sequence[str],
        max_num_results: int = DEFAULT_NUM_RESULTS,
        filters: Filter | None = None,
        ranking_options: Ranking | None = None,
    ) -> list[SearchHit]:
        """The best chunks of these stores for the query (or queries), best first. Raises `ApiError`: 404
        for a store the tenant does not have, 400 for an expired store or bad parameters, 502 when the
        query cannot be embedded."""
        started = time.monotonic()
        texts = [query] if isinstance(query, str) else list(query)
        if not 1 <= len(texts) <= MAX_QUERIES:
            raise invalid(
                f"Invalid 'query': give 1 to {MAX_QUERIES} queries.", param="query", code="invalid_value"
            )
        await self._check_stores(tenant, vector_store_ids)
        ranking = ranking_options or Ranking()
        vectors = await self._embed(texts)
        merged: dict[tuple[str, str, int], SearchHit] = {}
        for text, vector in zip(texts, vectors, strict=True):
            for hit in await self._index.search(
                tenant, vector_store_ids, self._query(text, vector, ranking, max_num_results, filters)
            ):
                key = (hit.vector_store_id, hit.file_id, hit.position)
                if key not in merged or merged[key].score < hit.score:
                    merged[key] = hit
        hits = sorted(merged.values(), key=lambda h: -h.score)[:max_num_results]
        now = int(self._clock.now())
        for vector_store_id in dict.fromkeys(vector_store_ids):
            await self._store.touch_store(vector_store_id, tenant=tenant, now=now)
        if self._observer.metrics is not None:
            self._observer.metrics.vector_search(time.monotonic() - started)
        return hits

    def _query(
        self, text: str, vector: Sequence[float], ranking: Ranking, most: int, filters: Filter | None
    ) -> Query:
        try:
            return Query(
                text=text,
                embedding=vector,
                embedding_model=self._embedder.model,
                max_num_results=most,
                filters=filters,
                mode=ranking.mode,
                score_threshold=ranking.score_threshold,
                weights=ranking.weights,
            )
        except InvalidParam as err:
            raise checks.bad_param(err) from err

    async def _check_stores(self, tenant: str, vector_store_ids: Sequence[str]) -> None:
        now = self._clock.now()
        for vector_store_id in dict.fromkeys(vector_store_ids):
            row = await self._store.get_store(vector_store_id, tenant=tenant)
            if row is None:
                raise missing_store(vector_store_id)
            if is_expired(row, now):
                raise invalid(
                    f"Vector store '{clip(vector_store_id)}' has expired; it can no longer be searched.",
                    param="vector_store_id",
                    code="vector_store_expired",
                )

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        try:
            return await self._embedder.embed(texts)
        except EmbeddingError as err:
            raise ApiError(
                ErrorKind.UPSTREAM, f"The search query could not be embedded: {err.message}"
            ) from err
