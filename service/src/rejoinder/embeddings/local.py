"""The embedded default: WordLlama `l2_supercat` (MIT), whose 256-dimension weights (16 MB of float16)
and tokenizer ship inside the `wordllama` wheel on PyPI. Nothing is downloaded, at install or at run
time: the files are read from the installed package.

The model is a static one: a text's vector is the mean of its tokens' vectors (LLaMA 2's 32,000-token
vocabulary, trained on the codebooks of LLaMA 2 70B and other models), so it embeds thousands of texts a
second on one core. Its vectors are Matryoshka-trained: the first 64 or 128 of the 256 floats make a
smaller model of their own.

The weights are loaded on the first `embed`, in the embedder's own thread, where every batch runs too
(the tokenizer and numpy release the GIL), so the event loop never waits on it. The `wordllama` package
itself is never imported (it configures the root logger when imported); only its files are read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from rejoinder.embeddings.base import EmbeddingError
from rejoinder.embeddings.vectors import Matrix, unit_rows

MODEL = "wordllama-l2-supercat"
DIMENSIONS = (64, 128, 256)
_WEIGHTS = Path("weights") / "l2_supercat_256.safetensors"
_TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
_UNKNOWN = 0  # the <unk> token: what a text with no tokens at all is embedded as
# A batch holds at most this many characters (about 1,000 tokens): the tokenizer keeps the GIL for a whole
# batch, so this bounds how long the event loop can wait (measured: 4 ms at most for 800-token texts, and
# 800 ms with 256 of them in one batch, which was no faster).
BATCH_CHARS = 4000


class LocalEmbedder:
    """`Embedder` running WordLlama in-process, off the event loop."""

    def __init__(
        self,
        dimensions: int = 256,
        *,
        batch_size: int = 32,
        executor: concurrent.futures.Executor | None = None,
        package_dir: Path | None = None,
    ) -> None:
        """`dimensions`: 64, 128 or 256 (the first floats of the full vector). `executor`: where the model
        runs (its owner shuts it down); by default one thread of the embedder's own. `package_dir`: where
        the model's files are, by default the installed `wordllama` package."""
        if dimensions not in DIMENSIONS:
            raise ValueError(f"the local embedding model makes 64, 128 or 256 dimensions, not {dimensions}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._dimensions = dimensions
        self._batch_size = batch_size
        self._own_executor = executor is None
        self._executor = executor or concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="embed")
        self._package_dir = package_dir
        self._model: _Model | None = None
        self._loading = threading.Lock()

    @property
    def model(self) -> str:
        """`wordllama-l2-supercat`, with `-64`/`-128` when shortened (vectors of each length differ)."""
        return MODEL if self._dimensions == 256 else f"{MODEL}-{self._dimensions}"

    @property
    def dimensions(self) -> int:
        """64, 128 or 256."""
        return self._dimensions

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order, made in the embedder's thread; raises `EmbeddingError`."""
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._embed_all, list(texts))

    async def aclose(self) -> None:
        """Stop the embedder's own thread (an injected executor is left to its owner)."""
        if self._own_executor:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _embed_all(self, texts: list[str]) -> list[list[float]]:
        model = self._loaded()
        out: list[list[float]] = []
        for batch in _batches(texts, self._batch_size, BATCH_CHARS):
            out.extend(model.embed(batch).tolist())
        return out

    def _loaded(self) -> _Model:
        with self._loading:
            if self._model is None:
                self._model = _Model(self._package_dir or _installed_package(), self._dimensions)
            return self._model


class _Model:
    """The weights (float32, cut to `dimensions`) and the tokenizer."""

    def __init__(self, package_dir: Path, dimensions: int) -> None:
        try:
            weights = load_file(str(package_dir / _WEIGHTS))["embedding.weight"]
            self._tokenizer = Tokenizer.from_file(str(package_dir / _TOKENIZER))
        except Exception as exc:  # safetensors and tokenizers raise plain Exceptions, OSError, KeyError...
            raise EmbeddingError(
                f"the local embedding model cannot be loaded from {package_dir}: {exc}"
            ) from exc
        self._table: np.ndarray[Any, np.dtype[np.float32]] = np.ascontiguousarray(
            weights[:, :dimensions], dtype=np.float32
        )

    def embed(self, texts: list[str]) -> Matrix:
        """Unit vectors: the mean of each text's token vectors (no special tokens, no truncation)."""
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = [np.asarray(e.ids or [_UNKNOWN], dtype=np.int64) for e in encodings]
        counts = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        flat = np.concatenate(ids)
        np.clip(flat, 0, self._table.shape[0] - 1, out=flat)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        sums = np.add.reduceat(self._table[flat], starts, axis=0)
        return unit_rows(sums / counts[:, None])


def _batches(texts: list[str], most: int, chars: int) -> Iterator[list[str]]:
    """`texts` in order, in batches of at most `most` texts and about `chars` characters (a longer text
    goes alone)."""
    batch: list[str] = []
    size = 0
    for text in texts:
        if batch and (len(batch) == most or size + len(text) > chars):
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text)
    if batch:
        yield batch


def _installed_package() -> Path:
    """The installed `wordllama` package's directory, found without importing it."""
    spec = importlib.util.find_spec("wordllama")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise EmbeddingError("the local embedding model needs the wordllama package: pip install wordllama")
    return Path(locations[0])
