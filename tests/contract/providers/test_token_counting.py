"""Each adapter counts the tokens of exactly the chat request it would send, against the scripted
upstream playing vLLM (`POST /tokenize` with messages) or llama.cpp (`/apply-template` then
`/tokenize`, `/props`); the others estimate, labelled so. Context windows come from the model list or
`/props`, and prompt-cache hints reach only the upstreams that take them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from rejoinder.providers.base import (
    ChatMessage,
    ChatRequest,
    FunctionTool,
    Provider,
    TokenCount,
    ToolCall,
    UpstreamModel,
)
from rejoinder.providers.factory import build_provider
from rejoinder.providers.timeouts import UpstreamTimeouts
from rejoinder.providers.token_estimate import estimate_chat_tokens
from tests.scripted_upstream import ScriptedUpstream, rendered_prompt

TIMEOUTS = UpstreamTimeouts(connect=5.0, first_token=30.0, idle=30.0)

REQUEST = ChatRequest(
    model="m",
    messages=(
        ChatMessage("system", "You are terse."),
        ChatMessage("user", "What is the weather in Paris today?"),
        ChatMessage("assistant", None, (ToolCall("call_1", "weather", '{"city": "Paris"}'),)),
        ChatMessage("tool", "sunny, 21 C", tool_call_id="call_1"),
        ChatMessage("user", "And tomorrow?"),
    ),
    tools=(FunctionTool("weather", "The weather of a city", {"type": "object"}),),
    prompt_cache_key="tenant-a/chat-7",
    prompt_cache_retention="24h",
)


Make = Callable[[str], Provider]


@pytest.fixture
async def make(scripted_upstream: ScriptedUpstream) -> AsyncIterator[Make]:
    """Builds adapters of a type against the scripted upstream; closes them after the test."""
    made: list[Provider] = []

    def of(kind: str) -> Provider:
        provider = build_provider(kind, scripted_upstream.base_url, "sk-t", TIMEOUTS, {})
        made.append(provider)
        return provider

    yield of
    for provider in made:
        await provider.aclose()


async def _sent_body(provider: Provider, upstream: ScriptedUpstream) -> dict[str, object]:
    """The chat body `provider` sends for REQUEST (one real call)."""
    async for _ in provider.stream(REQUEST):
        pass
    return upstream.requests[-1]


async def test_vllm_counts_with_its_tokenize_route_exactly_what_it_sends(
    make: Make, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.tokenizer = "vllm"
    provider = make("vllm")

    count = await provider.count_tokens(REQUEST)
    sent = await _sent_body(provider, scripted_upstream)

    [(path, body)] = scripted_upstream.tokenize_requests
    assert path == "/tokenize"
    assert body["messages"] == sent["messages"]  # the very messages of the chat request
    assert body["tools"] == sent["tools"]
    assert (body["model"], body["add_generation_prompt"]) == ("m", True)
    words = len(rendered_prompt(sent["messages"], sent["tools"]).split())  # type: ignore[arg-type]
    assert count == TokenCount(words, exact=True)


async def test_llamacpp_renders_its_template_then_tokenizes_the_prompt(
    make: Make, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.tokenizer = "llamacpp"
    provider = make("llamacpp")

    count = await provider.count_tokens(REQUEST)
    sent = await _sent_body(provider, scripted_upstream)

    [(first, template), (second, tokenize)] = scripted_upstream.tokenize_requests
    assert (first, second) == ("/apply-template", "/tokenize")
    assert template["messages"] == sent["messages"]
    assert template["tools"] == sent["tools"]
    prompt = rendered_prompt(sent["messages"], sent["tools"])  # type: ignore[arg-type]
    assert tokenize == {"content": prompt, "add_special": False, "parse_special": True}
    assert count == TokenCount(len(prompt.split()), exact=True)


@pytest.mark.parametrize("kind", ["openai", "ollama", "openai-compatible"])
async def test_upstreams_without_a_tokenizer_are_estimated_and_say_so(
    kind: str, make: Make, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.tokenizer = "vllm"  # served, but these adapters know no such route

    count = await make(kind).count_tokens(REQUEST)

    assert count == TokenCount(estimate_chat_tokens(REQUEST), exact=False)
    assert scripted_upstream.tokenize_requests == []


@pytest.mark.parametrize("kind", ["vllm", "llamacpp"])
async def test_a_missing_tokenize_route_falls_back_to_the_estimate(
    kind: str, make: Make, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.tokenizer = "none"  # an older server: 404

    count = await make(kind).count_tokens(REQUEST)

    assert count == TokenCount(estimate_chat_tokens(REQUEST), exact=False)


async def test_vllm_lists_each_models_context_window(make: Make, scripted_upstream: ScriptedUpstream) -> None:
    scripted_upstream.models = (
        {"id": "qwen", "object": "model", "created": 1, "owned_by": "vllm", "max_model_len": 32768},
        "scripted-model",
    )

    assert await make("vllm").models() == [
        UpstreamModel("qwen", 1, "vllm", context_window=32768),
        UpstreamModel("scripted-model", 0, "scripted"),
    ]


async def test_llamacpp_takes_its_context_window_from_props(
    make: Make, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.tokenizer, scripted_upstream.context_window = "llamacpp", 8192

    assert await make("llamacpp").models() == [
        UpstreamModel("scripted-model", 0, "scripted", context_window=8192)
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("openai", {"prompt_cache_key": "tenant-a/chat-7", "prompt_cache_retention": "24h"}),
        ("openai-compatible", {"prompt_cache_key": "tenant-a/chat-7", "prompt_cache_retention": "24h"}),
        ("vllm", {}),
        ("ollama", {}),
        ("llamacpp", {"cache_prompt": True}),
    ],
)
async def test_prompt_cache_hints_reach_the_upstreams_that_take_them(
    kind: str, expected: dict[str, object], make: Make, scripted_upstream: ScriptedUpstream
) -> None:
    sent = await _sent_body(make(kind), scripted_upstream)

    hints = {k: v for k, v in sent.items() if k.startswith(("prompt_cache", "cache_"))}
    assert hints == expected
