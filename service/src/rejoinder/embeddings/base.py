"""What file search needs from an embedding model. Ingestion and search see only this."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class EmbeddingError(Exception):
    """Embedding failed: the upstream refused or was unreachable, or the model could not run.
    `retryable` says whether trying again later may succeed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Embedder(Protocol):
    """Turns texts into unit-length vectors of `dimensions` floats, one per text, in order."""

    @property
    def model(self) -> str:
        """The model's name, recorded with every vector it made (vectors of two models never mix)."""
        ...

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text. Never blocks the event loop; raises `EmbeddingError`."""
        ...
