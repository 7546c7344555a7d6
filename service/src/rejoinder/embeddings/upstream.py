"""An `Embedder` over an OpenAI-compatible upstream's `POST /v1/embeddings` (OpenAI, vLLM, Ollama,
llama.cpp's server, LiteLLM...).

Texts go in batches of `batch_size`, one request after another, over the providers' transport (the lean
HTTP/1.1 pool for plain `http://`, aiohttp otherwise). Each request is bounded by `timeout_s`. The reply
is checked (one vector per text, by `index`; every vector of the same length, the configured one when
`dimensions` is set) and each vector is scaled to unit length. Failures are `EmbeddingError`s, retryable
for 429, 5xx, timeouts and connection failures.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
import orjson

from rejoinder.embeddings.base import EmbeddingError
from rejoinder.embeddings.vectors import unit_rows
from rejoinder.providers.base import UpstreamError
from rejoinder.providers.transport import Transport, translated
from rejoinder.providers.transport.http1 import ConnectTimeout
from rejoinder.providers.transport.upstream_json import error_message

RETRYABLE_KINDS = frozenset({"timeout", "connect", "protocol"})


@dataclass(frozen=True)
class UpstreamEmbeddingConfig:
    """Where the upstream is and how to ask it. `base_url` ends where `/embeddings` goes (".../v1").

    `dimensions`: sent as OpenAI's `dimensions` (for models that can shorten their vectors, such as
    text-embedding-3-*) and checked in every reply; None sends nothing and takes the length of the first
    reply's vectors.
    """

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    dimensions: int | None = None
    batch_size: int = 64
    connect_timeout_s: float = 5.0
    timeout_s: float = 60.0


class UpstreamEmbedder:
    """`Embedder` over an upstream's `/v1/embeddings`."""

    def __init__(self, config: UpstreamEmbeddingConfig, session: aiohttp.ClientSession | None = None) -> None:
        """`session`: an injected aiohttp session (its owner closes it)."""
        if config.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._config = config
        self._dimensions = config.dimensions
        url = config.base_url.rstrip("/") + "/embeddings"
        self._transport = Transport(url, config.connect_timeout_s, session)
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if config.api_key:
            self._headers["authorization"] = f"Bearer {config.api_key}"

    @property
    def model(self) -> str:
        """The upstream model's name."""
        return self._config.model

    @property
    def dimensions(self) -> int:
        """The configured length, else the one the upstream's first reply had; raises `EmbeddingError`
        (retryable) before that reply."""
        if self._dimensions is None:
            raise EmbeddingError(
                f"the dimensions of {self.model!r} are not known until it has made a vector", retryable=True
            )
        return self._dimensions

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order; raises `EmbeddingError`."""
        out: list[list[float]] = []
        size = self._config.batch_size
        for start in range(0, len(texts), size):
            out.extend(await self._batch(list(texts[start : start + size])))
        return out

    async def aclose(self) -> None:
        """Close the connections (an injected session is left to its owner)."""
        await self._transport.aclose()

    async def _batch(self, texts: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self._config.dimensions is not None:
            body["dimensions"] = self._config.dimensions
        try:
            async with asyncio.timeout(self._config.timeout_s):
                raw = await self._post(orjson.dumps(body))
        except TimeoutError as exc:
            raise EmbeddingError(
                f"the upstream did not answer within {self._config.timeout_s:g} s", retryable=True
            ) from exc
        vectors: list[list[float]] = unit_rows(self._decode(raw, len(texts))).tolist()
        return vectors

    async def _post(self, content: bytes) -> bytes:
        try:
            with translated():
                try:
                    resp = await self._transport.post([content], self._headers)
                except ConnectTimeout as exc:
                    raise UpstreamError("timeout", f"cannot connect to the upstream: {exc}") from exc
                except ValueError as exc:  # a header that cannot be written
                    raise UpstreamError("protocol", f"cannot send the request: {exc}") from exc
                try:
                    raw = await resp.read()
                finally:
                    resp.close()
        except UpstreamError as exc:
            raise EmbeddingError(
                f"embeddings upstream: {exc.message}", retryable=exc.kind in RETRYABLE_KINDS
            ) from exc
        if not 200 <= resp.status < 300:
            detail = error_message(raw) or f"HTTP {resp.status}"
            retryable = resp.status == 429 or resp.status >= 500
            raise EmbeddingError(f"embeddings upstream answered {resp.status}: {detail}", retryable=retryable)
        return raw

    def _decode(self, raw: bytes, count: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        try:
            rows = _rows(orjson.loads(raw))
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError) as exc:
            raise EmbeddingError(f"the embeddings upstream sent a malformed reply: {exc}") from exc
        if sorted(rows) != list(range(count)):
            raise EmbeddingError(f"the embeddings upstream sent {len(rows)} vectors for {count} texts")
        ordered = [rows[i] for i in range(count)]
        lengths = {len(v) for v in ordered}
        expected = self._dimensions
        if len(lengths) != 1 or (expected is not None and lengths != {expected}):
            want = f"{expected}" if expected is not None else "one length"
            raise EmbeddingError(
                f"the embeddings upstream sent vectors of {sorted(lengths)} floats; expected {want}"
            )
        self._dimensions = lengths.pop()
        return np.asarray(ordered, dtype=np.float64)


def _rows(reply: object) -> dict[int, list[float]]:
    """`data[].embedding` by `data[].index`; a base64 embedding (little-endian float32) is decoded."""
    if not isinstance(reply, dict) or not isinstance(reply.get("data"), list):
        raise ValueError("no 'data' list")
    rows: dict[int, list[float]] = {}
    for entry in reply["data"]:
        index, vector = entry["index"], entry["embedding"]
        if not isinstance(index, int) or index in rows:
            raise ValueError(f"bad or repeated index {index!r}")
        rows[index] = _floats(vector)
    return rows


def _floats(vector: object) -> list[float]:
    if isinstance(vector, str):
        try:
            floats: list[float] = np.frombuffer(base64.b64decode(vector, validate=True), dtype="<f4").tolist()
            return floats
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"an embedding is not base64 float32: {exc}") from exc
    if not isinstance(vector, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in vector
    ):
        raise ValueError("an embedding is not a list of numbers")
    return [float(x) for x in vector]
