"""What the file_search kind needs from the vector stores (`core/vector_stores` provides both): a search
over a tenant's stores, and a look-up that says whether a store is the tenant's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rejoinder.core.vector_stores.search import Ranking
from rejoinder.responses.v1.vector_stores_service_pb2 import VectorStore
from rejoinder.vectors.base import SearchHit
from rejoinder.vectors.filters import Filter


class Searcher(Protocol):
    """`VectorSearch.search`: the best chunks of the stores for the queries, merged by best score."""

    async def search(
        self,
        tenant: str,
        vector_store_ids: Sequence[str],
        query: str | Sequence[str],
        max_num_results: int = ...,
        filters: Filter | None = None,
        ranking_options: Ranking | None = None,
    ) -> list[SearchHit]:
        """Raises `ApiError` (404 unknown store, 400 expired store or bad options, 502 embedding)."""
        ...


class StoreLookup(Protocol):
    """`VectorStoresCore.get`: the tenant's store, or `ApiError` 404."""

    async def get(self, vector_store_id: str, *, tenant: str = "") -> VectorStore:
        """Raises `ApiError` (404) when the tenant has no such store."""
        ...
