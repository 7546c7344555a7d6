"""What the vector stores API works with, injected by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rejoinder.core.clock import Clock
from rejoinder.core.ids import IdGenerator
from rejoinder.core.vector_stores.sources import FileSource
from rejoinder.store.vector_stores.base import VectorStoreStore
from rejoinder.vectors.base import VectorIndex


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class VectorStoreParts:
    """The metadata store, the index, the uploaded files, IDs and time; `added` is called when files
    were added (it wakes this process's ingester)."""

    store: VectorStoreStore
    index: VectorIndex
    files: FileSource
    ids: IdGenerator
    clock: Clock
    added: Callable[[], None] = _nothing

    def now(self) -> int:
        return int(self.clock.now())
