"""Building adapters from configuration: type names, declared capabilities, overrides."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rejoinder.config import Settings, UpstreamSettings
from rejoinder.observe.provider import ObservedProvider
from rejoinder.providers import llamacpp, ollama, openai, vllm
from rejoinder.providers.base import Capabilities
from rejoinder.providers.factory import (
    GENERIC_CAPABILITIES,
    PROVIDER_TYPES,
    build_provider,
    default_capabilities,
    merge_capabilities,
)
from rejoinder.providers.llamacpp import LlamaCppProvider
from rejoinder.providers.ollama import OllamaProvider
from rejoinder.providers.openai import OpenAIProvider
from rejoinder.providers.openai_compat import OpenAICompatProvider
from rejoinder.providers.timeouts import UpstreamTimeouts
from rejoinder.providers.vllm import VLLMProvider
from rejoinder.wiring import build_registry

# The capability table, as declared; each non-obvious entry is sourced in its adapter's docstring.
TABLE = {
    "openai-compatible": Capabilities(None, False, False, True, True, True, True, True),
    "vllm": Capabilities("reasoning", True, True, True, True, True, True, True),
    "ollama": Capabilities("reasoning", True, True, False, False, False, True, True),
    "llamacpp": Capabilities("reasoning_content", True, True, True, True, True, True, True),
    "openai": Capabilities(None, False, True, True, True, True, True, True),
}


def test_types() -> None:
    assert PROVIDER_TYPES == ("openai-compatible", "vllm", "ollama", "llamacpp", "openai")


@pytest.mark.parametrize("provider_type", PROVIDER_TYPES)
def test_declared_capabilities(provider_type: str) -> None:
    assert default_capabilities(provider_type) == TABLE[provider_type]


def test_capability_constants_are_the_modules_own() -> None:
    assert default_capabilities("vllm") is vllm.CAPABILITIES
    assert default_capabilities("ollama") is ollama.CAPABILITIES
    assert default_capabilities("llamacpp") is llamacpp.CAPABILITIES
    assert default_capabilities("openai") is openai.CAPABILITIES
    assert default_capabilities("openai-compatible") is GENERIC_CAPABILITIES


@pytest.mark.parametrize(
    ("provider_type", "cls"),
    [
        ("openai-compatible", OpenAICompatProvider),
        ("vllm", VLLMProvider),
        ("ollama", OllamaProvider),
        ("llamacpp", LlamaCppProvider),
        ("openai", OpenAIProvider),
    ],
)
async def test_build_provider(provider_type: str, cls: type[OpenAICompatProvider]) -> None:
    provider = build_provider(provider_type, "http://127.0.0.1:9/v1", None, 1.0, {"images": False})
    try:
        assert type(provider) is cls
        assert provider.capabilities == replace(TABLE[provider_type], images=False)
    finally:
        await provider.aclose()


@pytest.mark.parametrize("provider_type", PROVIDER_TYPES)
async def test_the_timeouts_reach_the_adapter(provider_type: str) -> None:
    provider = build_provider(
        provider_type, "http://127.0.0.1:9/v1", None, UpstreamTimeouts(2.0, 3.0, 4.0), {}
    )
    try:
        assert isinstance(provider, OpenAICompatProvider)
        assert provider._config.timeouts == UpstreamTimeouts(connect=2.0, first_token=3.0, idle=4.0)
    finally:
        await provider.aclose()


async def test_one_number_bounds_all_three() -> None:
    provider = build_provider("vllm", "http://127.0.0.1:9/v1", None, 7.5, {})
    try:
        assert isinstance(provider, OpenAICompatProvider)
        assert provider._config.timeouts == UpstreamTimeouts(connect=7.5, first_token=7.5, idle=7.5)
    finally:
        await provider.aclose()


async def test_the_configured_timeouts_reach_the_adapter_through_the_registry() -> None:
    upstream = UpstreamSettings(
        "http://127.0.0.1:9/v1", connect_timeout_s=1.5, first_token_timeout_s=20.0, idle_timeout_s=9.0
    )
    registry = build_registry(Settings(providers={"up": upstream}), None)
    try:
        observed = registry.resolve("up/some-model").provider
        assert isinstance(observed, ObservedProvider)  # measured under its configured name
        provider = observed.inner
        assert isinstance(provider, OpenAICompatProvider)
        assert provider._config.timeouts == UpstreamTimeouts(connect=1.5, first_token=20.0, idle=9.0)
    finally:
        await registry.aclose()


def test_unknown_type_lists_the_types() -> None:
    with pytest.raises(ValueError) as info:
        build_provider("lmstudio", "http://x/v1", None, 1.0, {})

    assert str(info.value) == (
        "unknown provider type 'lmstudio'; expected one of: openai-compatible, vllm, ollama, llamacpp, openai"
    )


def test_unknown_capability_lists_the_capabilities() -> None:
    with pytest.raises(ValueError) as info:
        build_provider("vllm", "http://x/v1", None, 1.0, {"image": False, "audio": True})

    assert str(info.value) == (
        "unknown capability 'audio', 'image'; expected one of: accepts_reasoning_input, images, logprobs, "
        "parallel_tool_calls, reasoning_effort, reasoning_field, response_format, tool_choice_forcing"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"images": "no"}, "capability 'images' must be true or false, not 'no'"),
        ({"logprobs": 1}, "capability 'logprobs' must be true or false, not 1"),
        ({"reasoning_field": 3}, "capability 'reasoning_field' must be a field name or \"\", not 3"),
        ({"reasoning_field": "a b"}, "capability 'reasoning_field' must be a field name or \"\", not 'a b'"),
    ],
)
def test_bad_capability_values(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        merge_capabilities(vllm.CAPABILITIES, overrides)

    assert str(info.value) == message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, vllm.CAPABILITIES),
        (
            {"reasoning_field": "reasoning_content"},
            replace(vllm.CAPABILITIES, reasoning_field="reasoning_content"),
        ),
        ({"reasoning_field": ""}, replace(vllm.CAPABILITIES, reasoning_field=None)),
        ({"reasoning_field": None}, replace(vllm.CAPABILITIES, reasoning_field=None)),
        (
            {"accepts_reasoning_input": False, "reasoning_effort": False},
            replace(vllm.CAPABILITIES, accepts_reasoning_input=False, reasoning_effort=False),
        ),
    ],
)
def test_overrides_merge_over_the_defaults(overrides: dict[str, object], expected: Capabilities) -> None:
    assert merge_capabilities(vllm.CAPABILITIES, overrides) == expected


def test_merging_leaves_the_defaults_alone() -> None:
    before = vllm.CAPABILITIES

    merge_capabilities(vllm.CAPABILITIES, {"images": False})

    assert vllm.CAPABILITIES is before
    assert vllm.CAPABILITIES.images is True
