"""A deterministic stand-in `Embedder` for the vector index's tests and the file search bench: no model,
no download, the same vectors on every machine.

Each word of a text adds its hashed letter trigrams (with word boundaries, so "zebra" and "zebras" share
most of theirs) into `dimensions` buckets with a hashed sign; the sum is scaled to unit length. Texts that
share words or word stems point the same way; paraphrases with no words in common do not, which is the
honest floor a real model must beat (bench/file_search.py takes one by name).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

MODEL = "standin-trigram-hash"
_WORD = re.compile(r"[^\W_]+")


class TrigramHashEmbedder:
    """`Embedder` of hashed letter trigrams."""

    def __init__(self, dimensions: int = 384) -> None:
        self._dimensions = dimensions

    @property
    def model(self) -> str:
        return f"{MODEL}-{self._dimensions}"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_one(text) for text in texts]

    def embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self._dimensions
        for word in _WORD.findall(text.lower()):
            padded = f"<{word}>"
            for i in range(max(1, len(padded) - 2)):
                digest = hashlib.blake2b(padded[i : i + 3].encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self._dimensions
                vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vector))
        return [x / norm for x in vector] if norm else vector
