"""The `[embeddings]` section of the config: which model turns file search's texts into vectors.

`provider = "local"` (the default) is the embedded model (embeddings/local.py), which needs no
upstream; any other value names a `[providers.NAME]` upstream, asked at its `/embeddings` for `model`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

LOCAL = "local"
LOCAL_DIMENSIONS = (64, 128, 256)


@dataclass(frozen=True)
class EmbeddingSettings:
    """`model`: the upstream's embedding model (required for an upstream; the local one has its own).
    `dimensions`: local, 64, 128 or 256 (default 256); upstream, sent as OpenAI's `dimensions` when set.
    `batch_size`: texts per upstream request (default 64) or per local batch (default 32).
    `timeout_s`: seconds for one upstream request."""

    provider: str = LOCAL
    model: str | None = None
    dimensions: int | None = None
    batch_size: int | None = None
    timeout_s: float = 60.0


def embedding_settings(doc: Mapping[str, Any]) -> EmbeddingSettings:
    """`[embeddings]`; raises `ValueError` naming the bad key."""
    names = {f.name for f in fields(EmbeddingSettings)}
    unknown = sorted(set(doc) - names)
    if unknown:
        raise ValueError(
            f"[embeddings] has no key {unknown[0]!r}; expected one of: {', '.join(sorted(names))}"
        )
    provider, model = doc.get("provider", LOCAL), doc.get("model")
    if not isinstance(provider, str) or not provider:
        raise ValueError(f"[embeddings] provider must be 'local' or a provider's name, not {provider!r}")
    if model is not None and (not isinstance(model, str) or not model):
        raise ValueError(f"[embeddings] model must be a model's name, not {model!r}")
    if provider == LOCAL and model is not None:
        raise ValueError("[embeddings] model names an upstream's model; the local provider has its own")
    if provider != LOCAL and model is None:
        raise ValueError(f"[embeddings] provider {provider!r} needs a model (e.g. text-embedding-3-small)")
    dimensions = _whole("dimensions", doc.get("dimensions"))
    if provider == LOCAL and dimensions is not None and dimensions not in LOCAL_DIMENSIONS:
        raise ValueError(
            f"[embeddings] dimensions of the local model must be 64, 128 or 256, not {dimensions}"
        )
    timeout = doc.get("timeout_s", 60.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"[embeddings] timeout_s must be a number of seconds above 0, not {timeout!r}")
    return EmbeddingSettings(
        provider, model, dimensions, _whole("batch_size", doc.get("batch_size")), float(timeout)
    )


def _whole(key: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"[embeddings] {key} must be a whole number of at least 1, not {value!r}")
    return value
