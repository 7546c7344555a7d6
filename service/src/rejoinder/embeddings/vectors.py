"""Vectors to unit length, refusing those that have no direction (all zeros) or are not numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from rejoinder.embeddings.base import EmbeddingError

Matrix = np.ndarray[Any, np.dtype[np.floating[Any]]]


def unit_rows(matrix: Matrix) -> Matrix:
    """Each row of `matrix` scaled to length 1; raises `EmbeddingError` for a zero or non-finite row."""
    if not np.isfinite(matrix).all():
        raise EmbeddingError("the embedding model made a vector that is not finite (NaN or infinity)")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if (norms == 0).any():
        raise EmbeddingError("the embedding model made a vector of zeros, which has no direction")
    unit: Matrix = matrix / norms
    return unit
