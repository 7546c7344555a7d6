"""Reading a provider's `ChatDelta` stream to its end, for the contract tests over real HTTP."""

from __future__ import annotations

import pytest

from rejoinder.providers.base import ChatDelta, ChatRequest, Provider, UpstreamError


async def collect(provider: Provider, req: ChatRequest) -> list[ChatDelta]:
    """Every delta of a stream that ends normally."""
    return [delta async for delta in provider.stream(req)]


async def collect_until_error(provider: Provider, req: ChatRequest) -> tuple[list[ChatDelta], UpstreamError]:
    """The deltas before the stream fails, and its `UpstreamError` (the test fails if it ends normally)."""
    deltas: list[ChatDelta] = []
    with pytest.raises(UpstreamError) as caught:
        async for delta in provider.stream(req):
            deltas.append(delta)
    return deltas, caught.value
