"""`ObservedVectorStoreStore`: every operation on vector stores' metadata is counted in
`rejoinder_store_operation_duration_seconds{operation}`, under a name of its own, and changes nothing."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator

import pytest

from rejoinder.observe.metrics import Metrics
from rejoinder.observe.observer import Observer
from rejoinder.store.sqlite import SqliteStore
from rejoinder.store.vector_stores.base import NewStoreFile, NewVectorStore, VectorStoreStore, Window
from rejoinder.store.vector_stores.db import vector_stores_of
from rejoinder.store.vector_stores.observed import ObservedVectorStoreStore
from rejoinder.vectors.chunking import AUTO

METRIC = "rejoinder_store_operation_duration_seconds_count"
T = "tenant-a"


@pytest.fixture
async def sqlite() -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(":memory:")
    yield store
    await store.close()


def _count(metrics: Metrics, operation: str) -> float:
    return metrics.registry.get_sample_value(METRIC, {"operation": operation}) or 0.0


async def test_each_operation_is_timed_under_its_name(sqlite: SqliteStore) -> None:
    metrics = Metrics()
    observed: VectorStoreStore = ObservedVectorStoreStore(
        vector_stores_of(sqlite), Observer(metrics), "sqlite"
    )
    store = NewVectorStore("vs_1", 100, "docs", {})
    await observed.create_store(store, [NewStoreFile("file-a", 100, AUTO)], tenant=T, now=100)
    got = await observed.get_store("vs_1", tenant=T)
    assert got is not None and got.name == "docs" and got.counts.in_progress == 1
    await observed.get_store("vs_nope", tenant=T)
    page = await observed.list_files("vs_1", Window(None, None, 20, "desc"), tenant=T)
    assert page is not None and [f.file_id for f in page.rows] == ["file-a"]

    assert _count(metrics, "create_vector_store") == 1
    assert _count(metrics, "get_vector_store") == 2
    assert _count(metrics, "list_vector_store_files") == 1
    assert _count(metrics, "list_files") == 0  # the Files API's operation keeps its own label


def test_every_method_of_the_protocol_is_wrapped() -> None:
    def methods(cls: type) -> set[str]:
        return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}

    assert methods(ObservedVectorStoreStore) == methods(VectorStoreStore)
