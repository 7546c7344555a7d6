"""The `Embedder` the configuration asks for: the embedded model, or an upstream's `/embeddings`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import aiohttp

from rejoinder.config import UpstreamSettings
from rejoinder.config_embeddings import LOCAL, EmbeddingSettings
from rejoinder.embeddings.base import Embedder
from rejoinder.embeddings.local import LocalEmbedder
from rejoinder.embeddings.upstream import UpstreamEmbedder, UpstreamEmbeddingConfig

UPSTREAM_BATCH = 64
LOCAL_BATCH = 32


class ClosableEmbedder(Embedder, Protocol):
    """An `Embedder` its owner closes when the server stops."""

    async def aclose(self) -> None:
        """Release its connections or its thread."""
        ...


def build_embedder(
    settings: EmbeddingSettings,
    providers: Mapping[str, UpstreamSettings],
    session: aiohttp.ClientSession | None = None,
) -> ClosableEmbedder:
    """The embedder of `settings`; `providers` are the configured upstreams (`Settings.providers`),
    `session` an injected aiohttp session for an upstream. Raises `ValueError` for a provider that is
    not configured (config.py refuses that earlier)."""
    if settings.provider == LOCAL:
        return LocalEmbedder(settings.dimensions or 256, batch_size=settings.batch_size or LOCAL_BATCH)
    upstream = providers.get(settings.provider)
    if upstream is None or settings.model is None:
        raise ValueError(f"embeddings provider {settings.provider!r} is not configured, or has no model")
    config = UpstreamEmbeddingConfig(
        base_url=upstream.base_url,
        model=settings.model,
        api_key=upstream.api_key,
        dimensions=settings.dimensions,
        batch_size=settings.batch_size or UPSTREAM_BATCH,
        connect_timeout_s=upstream.connect_timeout_s,
        timeout_s=settings.timeout_s,
    )
    return UpstreamEmbedder(config, session)
