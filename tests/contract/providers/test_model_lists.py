"""Every adapter fetches its upstream's own model list (`GET {base_url}/models`) over real HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from rejoinder.providers.base import Provider, UpstreamError, UpstreamModel
from rejoinder.providers.factory import PROVIDER_TYPES, build_provider
from rejoinder.providers.timeouts import UpstreamTimeouts
from tests.scripted_upstream import ScriptedUpstream, UnansweredPort

TIMEOUTS = UpstreamTimeouts(connect=5.0, first_token=30.0, idle=30.0)


@pytest.fixture(params=PROVIDER_TYPES)
async def adapter(
    request: pytest.FixtureRequest, scripted_upstream: ScriptedUpstream
) -> AsyncIterator[Provider]:
    provider = build_provider(request.param, scripted_upstream.base_url, "sk-models", TIMEOUTS, {})
    yield provider
    await provider.aclose()


async def test_the_upstream_list_with_created_and_owned_by_as_given(
    adapter: Provider, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.models = (
        {"id": "llama-3.1-8b", "object": "model", "created": 1_700_000_123, "owned_by": "meta"},
        {"id": "qwen3:0.6b", "object": "model"},  # Ollama-style id; no created, no owned_by
        {"id": "odd", "object": "model", "created": "yesterday", "owned_by": 7},  # wrong types: dropped
        {"object": "model", "owned_by": "nobody"},  # no id: skipped
        "scripted-model",
    )

    models = await adapter.models()

    assert models == [
        UpstreamModel("llama-3.1-8b", 1_700_000_123, "meta"),
        UpstreamModel("qwen3:0.6b", None, None),
        UpstreamModel("odd", None, None),
        UpstreamModel("scripted-model", 0, "scripted"),
    ]
    [request] = scripted_upstream.model_requests
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.headers["authorization"] == "Bearer sk-models"
    assert scripted_upstream.received == []  # no chat request was made


async def test_an_empty_list(adapter: Provider, scripted_upstream: ScriptedUpstream) -> None:
    scripted_upstream.models = ()

    assert await adapter.models() == []


async def test_an_error_status_is_an_upstream_error(
    adapter: Provider, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.models_status = 503

    with pytest.raises(UpstreamError) as info:
        await adapter.models()

    assert (info.value.kind, info.value.status) == ("status", 503)
    assert info.value.message == "scripted models error 503"


async def test_an_unreachable_upstream_is_a_connect_error() -> None:
    provider = build_provider("openai-compatible", "http://127.0.0.1:1/v1", None, TIMEOUTS, {})
    try:
        with pytest.raises(UpstreamError) as info:
            await provider.models()
    finally:
        await provider.aclose()

    assert info.value.kind == "connect"
    assert info.value.message.startswith("cannot reach upstream:")


async def test_the_connect_timeout_bounds_the_fetch() -> None:
    timeouts = UpstreamTimeouts(connect=0.3, first_token=30.0, idle=30.0)
    with UnansweredPort() as port:
        provider = build_provider("openai-compatible", f"http://127.0.0.1:{port}/v1", None, timeouts, {})
        started = time.monotonic()
        try:
            with pytest.raises(UpstreamError) as info:
                await provider.models()
        finally:
            await provider.aclose()

    assert info.value.kind == "timeout"
    assert 0.25 <= time.monotonic() - started < 2.0
