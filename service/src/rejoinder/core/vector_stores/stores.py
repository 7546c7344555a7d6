"""Vector stores themselves: create (with files to ingest), list, retrieve, update, delete, search.

Both surfaces call `VectorStoresCore`; every method acts for one tenant and raises `ApiError` (400 with
`param`, 404 for a store the tenant does not have).
"""

from __future__ import annotations

from rejoinder.core.pages import page_args
from rejoinder.core.vector_stores import checks, objects
from rejoinder.core.vector_stores.files import new_files
from rejoinder.core.vector_stores.parts import VectorStoreParts
from rejoinder.core.vector_stores.search import VectorSearch, missing_store, ranking_from_proto
from rejoinder.responses.v1 import vector_stores_service_pb2 as pb
from rejoinder.store.vector_stores.base import NewVectorStore, StoreUpdate, Window
from rejoinder.vectors.base import DEFAULT_NUM_RESULTS


class VectorStoresCore:
    """The vector stores of every tenant."""

    def __init__(self, parts: VectorStoreParts, search: VectorSearch) -> None:
        self._parts = parts
        self._store = parts.store
        self._search = search

    async def create(self, req: pb.CreateVectorStoreRequest, *, tenant: str = "") -> pb.VectorStore:
        """A new store; its `file_ids` start ingesting. Raises 400, or 404 for a file the tenant lacks."""
        name = checks.name(req.name) if req.HasField("name") else ""
        metadata = checks.metadata(req.metadata)
        days = checks.expires_after(req.expires_after) if req.HasField("expires_after") else None
        chunking = checks.chunking(req.chunking_strategy, req.HasField("chunking_strategy"))
        file_ids = checks.file_ids(req.file_ids, checks.MAX_FILE_IDS)
        now = self._parts.now()
        files = await new_files(self._parts, tenant, [(f, {}, chunking) for f in file_ids], "file_ids")
        description = req.description if req.HasField("description") else None
        store = NewVectorStore(self._parts.ids.new("vs"), now, name, metadata, days, description)
        await self._store.create_store(store, files, tenant=tenant, now=now)
        if files:
            self._parts.added()
        return await self.get(store.id, tenant=tenant)

    async def get(self, vector_store_id: str, *, tenant: str = "") -> pb.VectorStore:
        row = await self._store.get_store(vector_store_id, tenant=tenant)
        if row is None:
            raise missing_store(vector_store_id)
        return objects.vector_store(row, self._parts.clock.now())

    async def list_stores(
        self, req: pb.ListVectorStoresRequest, *, tenant: str = ""
    ) -> pb.ListVectorStoresResponse:
        limit, order = page_args(
            req.limit if req.HasField("limit") else None, req.order if req.HasField("order") else None
        )
        window = Window(
            req.after if req.HasField("after") else None,
            req.before if req.HasField("before") else None,
            limit,
            order,
        )
        page = await self._store.list_stores(window, tenant=tenant)
        now = self._parts.clock.now()
        out = pb.ListVectorStoresResponse(
            object="list", data=[objects.vector_store(r, now) for r in page.rows], has_more=page.has_more
        )
        if page.rows:
            out.first_id, out.last_id = page.rows[0].id, page.rows[-1].id
        return out

    async def update(self, req: pb.UpdateVectorStoreRequest, *, tenant: str = "") -> pb.VectorStore:
        """New name, expiry or metadata (unset fields keep theirs). Raises 400 or 404."""
        days: int | None = None
        if req.clear_expires_after:
            days = 0
        elif req.HasField("expires_after"):
            days = checks.expires_after(req.expires_after)
        update = StoreUpdate(
            name=checks.name(req.name) if req.HasField("name") else None,
            metadata=checks.metadata(req.metadata) if req.update_metadata or req.metadata else None,
            expires_after_days=days,
        )
        row = await self._store.update_store(
            req.vector_store_id, update, tenant=tenant, now=self._parts.now()
        )
        if row is None:
            raise missing_store(req.vector_store_id)
        return objects.vector_store(row, self._parts.clock.now())

    async def delete(self, vector_store_id: str, *, tenant: str = "") -> pb.DeleteVectorStoreResponse:
        """Delete the store and its chunks (the uploaded files stay). Raises 404."""
        if not await self._store.delete_store(vector_store_id, tenant=tenant):
            raise missing_store(vector_store_id)
        await self._parts.index.delete_store(tenant, vector_store_id)
        return pb.DeleteVectorStoreResponse(id=vector_store_id, object="vector_store.deleted", deleted=True)

    async def search(
        self, req: pb.SearchVectorStoreRequest, *, tenant: str = ""
    ) -> pb.SearchVectorStoreResponse:
        """The chunks that best match the query. Raises 400, 404, or 502 when the query cannot be
        embedded."""
        queries = checks.queries(req.query)
        most = req.max_num_results if req.HasField("max_num_results") else DEFAULT_NUM_RESULTS
        if not 1 <= most <= checks.MAX_SEARCH_RESULTS:
            raise checks.out_of_range("max_num_results", most, 1, checks.MAX_SEARCH_RESULTS)
        flt = checks.filters(req.filters, req.HasField("filters"))
        ranking = ranking_from_proto(req.ranking_options, req.HasField("ranking_options"))
        checks.rewrite_query(req.HasField("rewrite_query") and req.rewrite_query)
        hits = await self._search.search(tenant, [req.vector_store_id], queries, most, flt, ranking)
        return objects.search_page(queries, hits)
