"""Exact nearest-neighbour search over a vector store's embeddings held in memory (NumPy), for the SQLite
index: a store's vectors of one model as one float32 matrix of unit rows, so a search is one
matrix-vector product. `VectorCache` keeps such matrices per (tenant, vector store, model) up to a
byte budget, least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rejoinder.vectors.errors import InvalidParam

Key = tuple[str, str, str]  # tenant, vector store, model
Floats = npt.NDArray[np.float32]


def unit(values: Sequence[float]) -> Floats:
    """The vector scaled to length 1 (a zero vector stays zero: it is similar to nothing)."""
    vector = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def unit_bytes(values: Sequence[float]) -> bytes:
    """`unit(values)` as little-endian float32 bytes, the form the SQLite index stores."""
    return unit(values).astype("<f4").tobytes()


@dataclass(frozen=True)
class StoreVectors:
    """One vector store's chunks of one model: chunk ids, their file ids, their unit embeddings (rows),
    and what the database said when they were read (its removals count, the highest chunk id)."""

    removals: int
    last_id: int
    ids: npt.NDArray[np.int64]
    files: npt.NDArray[np.str_]
    matrix: Floats

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.files.nbytes + self.matrix.nbytes)

    def extended(self, last_id: int, ids: list[int], files: list[str], blobs: list[bytes]) -> StoreVectors:
        """These vectors and the chunks appended after them."""
        if not ids:
            return StoreVectors(self.removals, last_id, self.ids, self.files, self.matrix)
        rows = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(ids), -1)
        matrix = rows if self.matrix.shape[0] == 0 else np.vstack((self.matrix, rows))
        return StoreVectors(
            self.removals,
            last_id,
            np.concatenate((self.ids, np.asarray(ids, dtype=np.int64))),
            np.concatenate((self.files, np.asarray(files, dtype=np.str_))),
            matrix.astype(np.float32, copy=False),
        )

    def nearest(self, query: Floats, allowed: frozenset[str] | None, depth: int) -> list[tuple[int, float]]:
        """The `depth` chunks most similar to the (unit) query among the allowed files' (all: None), as
        (chunk id, cosine), best first, ties to the lower id."""
        if self.matrix.shape[0] == 0:
            return []
        if self.matrix.shape[1] != query.shape[0]:
            raise InvalidParam(
                f"the query's embedding has {query.shape[0]} dimensions; "
                f"this model's vectors have {self.matrix.shape[1]}",
                param="query",
            )
        similarities = self.matrix @ query
        candidates = np.arange(len(self.ids))
        if allowed is not None:
            candidates = candidates[np.isin(self.files, list(allowed))]
        if len(candidates) > depth:
            best = np.argpartition(-similarities[candidates], depth - 1)[:depth]
            candidates = candidates[best]
        order = np.lexsort((self.ids[candidates], -similarities[candidates]))
        chosen = candidates[order]
        return [(int(i), float(s)) for i, s in zip(self.ids[chosen], similarities[chosen], strict=True)]


def empty(removals: int) -> StoreVectors:
    return StoreVectors(
        removals, 0, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.str_), np.zeros((0, 0), np.float32)
    )


class VectorCache:
    """Store matrices by (tenant, vector store, model), at most `budget_bytes` in all."""

    def __init__(self, budget_bytes: int) -> None:
        self._budget = budget_bytes
        self._entries: OrderedDict[Key, StoreVectors] = OrderedDict()
        self._bytes = 0

    def get(self, key: Key) -> StoreVectors | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Key, vectors: StoreVectors) -> None:
        self.drop(key)
        if vectors.nbytes > self._budget:
            return
        self._entries[key] = vectors
        self._bytes += vectors.nbytes
        while self._bytes > self._budget:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.nbytes

    def drop(self, key: Key) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
