"""The vector stores API put together for a server: its metadata in the server's store, the index that
goes with it (`vectors/factory.py`: the same SQLite file, or the same PostgreSQL database through the
store's pool), the configured embedder, the Files API's files, and this process's ingester."""

from __future__ import annotations

from dataclasses import dataclass

from rejoinder.config import Settings
from rejoinder.core.clock import Clock
from rejoinder.core.ids import IdGenerator
from rejoinder.core.vector_stores.files import VectorStoreFilesCore
from rejoinder.core.vector_stores.ingestion import Ingester, IngestOptions, IngestParts
from rejoinder.core.vector_stores.parts import VectorStoreParts
from rejoinder.core.vector_stores.search import VectorSearch
from rejoinder.core.vector_stores.sources import StoreFileSource
from rejoinder.core.vector_stores.stores import VectorStoresCore
from rejoinder.embeddings.factory import ClosableEmbedder, build_embedder
from rejoinder.observe.observer import SILENT, Observer
from rejoinder.store.base import Store
from rejoinder.store.files.base import FileStore
from rejoinder.store.vector_stores.base import VectorStoreStore
from rejoinder.store.vector_stores.db import vector_stores_of
from rejoinder.vectors.base import VectorIndex
from rejoinder.vectors.factory import vector_index_for


@dataclass(frozen=True)
class VectorStoresApp:
    """The API's cores, the search the file_search tool calls, and what the server closes."""

    stores: VectorStoresCore
    files: VectorStoreFilesCore
    search: VectorSearch
    ingester: Ingester
    index: VectorIndex
    embedder: ClosableEmbedder

    async def close(self) -> None:
        """Stop ingesting (what is under way is given back), then close the index and the embedder."""
        await self.ingester.close()
        await self.index.close()
        await self.embedder.aclose()


@dataclass(frozen=True)
class Identity:
    """Who this process is (its replica ID: the owner of its ingestion claims), its IDs and clock."""

    replica: str
    ids: IdGenerator
    clock: Clock


async def open_vector_stores(
    settings: Settings,
    store: Store,
    files: FileStore,
    who: Identity,
    observer: Observer = SILENT,
    metadata: VectorStoreStore | None = None,
) -> VectorStoresApp:
    """Everything the API needs, with this process's ingester started. `metadata`: the vector stores'
    metadata (the server passes it observed, `store/vector_stores/observed.py`); by default, `store`'s."""
    index = await vector_index_for(store)
    embedder = build_embedder(settings.embeddings, settings.providers)
    metadata = metadata if metadata is not None else vector_stores_of(store)
    source = StoreFileSource(files, who.clock)
    options = IngestOptions(settings.ingest_concurrency, lease_s=settings.background_lease_s)
    ingester = Ingester(
        IngestParts(metadata, index, embedder, source, who.clock), who.replica, options, observer
    )
    parts = VectorStoreParts(metadata, index, source, who.ids, who.clock, ingester.wake)
    search = VectorSearch(metadata, index, embedder, who.clock, observer)
    await ingester.start()
    return VectorStoresApp(
        VectorStoresCore(parts, search), VectorStoreFilesCore(parts), search, ingester, index, embedder
    )
