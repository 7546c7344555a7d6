"""One contract suite over every adapter type: recorded-style upstream streams in, normalized deltas out.

Each fixture in `fixtures/<provider type>/` holds the `data:` payloads of one chat completions answer,
one per line (`*.stream.jsonl`; `[DONE]` is added when served) or the one JSON body of a non-streamed
answer (`*.body.jsonl`), written from that server's documented wire format. The scripted upstream
serves them verbatim; the adapter, built by the factory as configuration would build it, must turn
them into exactly the expected `ChatDelta`s and must send the request body its server expects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from rejoinder.providers.base import (
    ChatDelta,
    ChatMessage,
    ChatRequest,
    FinishDelta,
    FunctionTool,
    NamedToolChoice,
    Provider,
    ReasoningDelta,
    TextDelta,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    UsageDelta,
)
from rejoinder.providers.factory import PROVIDER_TYPES, build_provider
from tests.scripted_upstream import Script, ScriptedUpstream

FIXTURES = Path(__file__).parent / "fixtures"
MODEL = "m"
STOP, TOOLS = FinishDelta("stop"), FinishDelta("tool_calls")
PARIS, LONDON = '{"city": "Paris"}', '{"city": "London"}'


def r(text: str) -> ReasoningDelta:
    return ReasoningDelta(text)


def t(text: str) -> TextDelta:
    return TextDelta(text)


def call(index: int, call_id: str, arguments: str = "") -> ToolCallDelta:
    return ToolCallDelta(index, call_id, "get_weather", arguments)


def args(index: int, fragment: str) -> ToolCallDelta:
    return ToolCallDelta(index, None, None, fragment)


def usage(prompt: int, completion: int, cached: int = 0, reasoning: int = 0) -> UsageDelta:
    return UsageDelta(prompt, completion, cached, reasoning)


HELLO_THERE = [t("Hello"), t(" there"), t("!"), usage(12, 3), STOP]
HI_REASONED = [r("The user"), r(" says hi."), t("Hello"), t("!")]
TEXT_BODY = [t("Hello there!"), usage(12, 3), STOP]
REASONING_BODY = [r("The user says hi."), t("Hello!"), usage(12, 40), STOP]

EXPECTED: dict[tuple[str, str], list[ChatDelta]] = {
    # A DeepSeek-API-like server: reasoning_content, usage in the finish chunk, reasoning between calls.
    ("openai-compatible", "text.stream"): HELLO_THERE,
    ("openai-compatible", "reasoning.stream"): [*HI_REASONED, usage(12, 40, 8, 37), STOP],
    ("openai-compatible", "tools.stream"): [
        r("Need Paris weather."),
        call(0, "call_00_Pq3rS"),
        args(0, '{"city":"Paris"}'),
        r("And London."),
        call(1, "call_01_Lm4nO"),
        args(1, '{"city":"London"}'),
        usage(85, 48, 0, 20),
        TOOLS,
    ],
    ("openai-compatible", "text.body"): TEXT_BODY,
    ("openai-compatible", "reasoning.body"): [*REASONING_BODY[:2], usage(12, 40, 8, 37), STOP],
    ("openai-compatible", "tools.body"): [
        r("Need Paris weather. And London."),
        call(0, "call_00_Pq3rS", '{"city":"Paris"}'),
        call(1, "call_01_Lm4nO", '{"city":"London"}'),
        usage(85, 48, 0, 20),
        TOOLS,
    ],
    # vLLM: `reasoning` (and `reasoning_content` before the rename), chunked calls, usage last.
    ("vllm", "text.stream"): HELLO_THERE,
    ("vllm", "reasoning.stream"): [*HI_REASONED, usage(12, 40), STOP],
    ("vllm", "reasoning_content.stream"): [*HI_REASONED, usage(12, 40), STOP],
    ("vllm", "tools.stream"): [
        r("Need Paris"),
        r(" weather."),
        call(0, "chatcmpl-tool-91a0"),
        args(0, '{"city": '),
        args(0, '"Paris"}'),
        r("And London."),
        call(1, "chatcmpl-tool-92b1"),
        args(1, LONDON),
        usage(85, 48),
        TOOLS,
    ],
    ("vllm", "text.body"): TEXT_BODY,
    ("vllm", "reasoning.body"): REASONING_BODY,
    ("vllm", "tools.body"): [
        r("Need Paris weather. And London."),
        call(0, "chatcmpl-tool-91a0", PARIS),
        call(1, "chatcmpl-tool-92b1", LONDON),
        usage(85, 48),
        TOOLS,
    ],
    # Ollama: `reasoning`, each tool call whole in one chunk, usage without details.
    ("ollama", "text.stream"): HELLO_THERE,
    ("ollama", "reasoning.stream"): [*HI_REASONED, usage(12, 40), STOP],
    ("ollama", "tools.stream"): [
        r("Need Paris"),
        r(" weather."),
        call(0, "call_k3j2h1g0", '{"city":"Paris"}'),
        r("And London."),
        call(1, "call_p9o8i7u6", '{"city":"London"}'),
        usage(85, 48),
        TOOLS,
    ],
    ("ollama", "text.body"): TEXT_BODY,
    ("ollama", "reasoning.body"): REASONING_BODY,
    ("ollama", "tools.body"): [
        r("Need Paris weather. And London."),
        call(0, "call_k3j2h1g0", '{"city":"Paris"}'),
        call(1, "call_p9o8i7u6", '{"city":"London"}'),
        usage(85, 48),
        TOOLS,
    ],
    # llama.cpp: reasoning_content, or <think> inline (split across chunks), or both (deepseek-legacy).
    ("llamacpp", "text.stream"): HELLO_THERE,
    ("llamacpp", "reasoning.stream"): [*HI_REASONED, usage(12, 40), STOP],
    ("llamacpp", "think_tags.stream"): [*HI_REASONED[:2], r("\n"), *HI_REASONED[2:], usage(12, 40), STOP],
    ("llamacpp", "deepseek_legacy.stream"): [r("The user says hi."), t("Hello!"), usage(12, 40), STOP],
    ("llamacpp", "tools.stream"): [
        r("Need the weather"),
        r(" in both cities."),
        call(0, "Xn3kPq8aLm2vBc7dRt5yWz1eHs6uJf4o", '{"city":'),
        args(0, '"Paris"}'),
        call(1, "Gt7hYu2iOp9lKj5hGf3dSa8qWe1rTy6u", '{"city":'),
        args(1, '"London"}'),
        usage(85, 48),
        TOOLS,
    ],
    ("llamacpp", "text.body"): TEXT_BODY,
    ("llamacpp", "reasoning.body"): REASONING_BODY,
    ("llamacpp", "think_tags.body"): [r("The user says hi.\n"), t("Hello!"), usage(12, 40), STOP],
    ("llamacpp", "tools.body"): [
        r("Need the weather in both cities."),
        call(0, "Xn3kPq8aLm2vBc7dRt5yWz1eHs6uJf4o", '{"city":"Paris"}'),
        call(1, "Gt7hYu2iOp9lKj5hGf3dSa8qWe1rTy6u", '{"city":"London"}'),
        usage(85, 48),
        TOOLS,
    ],
    # OpenAI: no reasoning text at all, only its token count; parallel calls chunked.
    ("openai", "text.stream"): HELLO_THERE,
    ("openai", "reasoning.stream"): [t("Hello"), t("!"), usage(12, 210, 0, 192), STOP],
    ("openai", "tools.stream"): [
        call(0, "call_Pa7rIs0wEaThEr1x"),
        args(0, '{"ci'),
        args(0, 'ty": "Paris"}'),
        call(1, "call_L0nDoNwEaThEr2y"),
        args(1, LONDON),
        usage(85, 112, 64, 64),
        TOOLS,
    ],
    ("openai", "text.body"): TEXT_BODY,
    ("openai", "reasoning.body"): [t("Hello!"), usage(12, 210, 0, 192), STOP],
    ("openai", "tools.body"): [
        call(0, "call_Pa7rIs0wEaThEr1x", PARIS),
        call(1, "call_L0nDoNwEaThEr2y", LONDON),
        usage(85, 112, 64, 64),
        TOOLS,
    ],
}


def fixture_lines(provider_type: str, name: str) -> list[str]:
    path = FIXTURES / provider_type / f"{name}.jsonl"
    return [line for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
async def adapter(
    request: pytest.FixtureRequest, scripted_upstream: ScriptedUpstream
) -> AsyncIterator[Provider]:
    provider_type: str = request.param
    provider = build_provider(provider_type, scripted_upstream.base_url, "sk-test", 5.0, {})
    yield provider
    await provider.aclose()


async def collect(provider: Provider, req: ChatRequest) -> list[ChatDelta]:
    return [delta async for delta in provider.stream(req)]


def test_every_adapter_and_fixture_is_covered() -> None:
    on_disk = {(p.parent.name, p.name.removesuffix(".jsonl")) for p in FIXTURES.glob("*/*.jsonl")}
    assert on_disk == set(EXPECTED)
    assert {provider_type for provider_type, _ in EXPECTED} == set(PROVIDER_TYPES)


@pytest.mark.parametrize(
    ("adapter", "fixture"),
    [pytest.param(p, f, id=f"{p}-{f}") for p, f in EXPECTED],
    indirect=["adapter"],
)
async def test_fixture_normalizes(
    adapter: Provider, scripted_upstream: ScriptedUpstream, request: pytest.FixtureRequest, fixture: str
) -> None:
    provider_type = request.node.callspec.params["adapter"]
    stream = fixture.endswith(".stream")
    lines = fixture_lines(provider_type, fixture)
    scripted_upstream.enqueue(Script(raw_events=[*lines, "[DONE]"] if stream else lines))
    effort = None if fixture.startswith("text.") else "high"
    messages = (ChatMessage("user", "Weather in Paris and London?"),)

    deltas = await collect(adapter, ChatRequest(MODEL, messages, stream=stream, reasoning_effort=effort))

    assert deltas == EXPECTED[provider_type, fixture]
    body = scripted_upstream.requests[-1]
    assert body.get("stream", False) is stream
    sends_effort = effort is not None and adapter.capabilities.reasoning_effort
    assert body.get("reasoning_effort") == ("high" if sends_effort else None)


# -- the request each adapter sends ----------------------------------------------------------------

LOOKUP = FunctionTool("lookup", "Look it up", {"type": "object"})
CONVERSATION = (
    ChatMessage("user", "What is a cat?"),
    ChatMessage("assistant", None, (ToolCall("call_1", "lookup", '{"q": "cat"}'),), reasoning="Look it up."),
    ChatMessage("tool", "a small feline", tool_call_id="call_1"),
    ChatMessage("assistant", "A small feline.", reasoning="Answer briefly."),
    ChatMessage("user", "Thanks"),
)
FULL_REQUEST = ChatRequest(
    model=MODEL,
    messages=CONVERSATION,
    max_output_tokens=64,
    tools=(LOOKUP, FunctionTool("noop")),
    tool_choice=NamedToolChoice("lookup"),
    parallel_tool_calls=False,
    response_format={"type": "json_object"},
    logprobs=True,
    top_logprobs=2,
    reasoning_effort="high",
)
CALL_1 = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "cat"}'}}
LOOKUP_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "description": "Look it up", "parameters": {"type": "object"}},
}


def expected_body(provider_type: str) -> dict[str, Any]:
    """The generic body, then exactly the differences each adapter's server needs."""
    reasoning_key = {"vllm": "reasoning", "ollama": "reasoning", "llamacpp": "reasoning_content"}
    key = reasoning_key.get(provider_type)
    first = {"role": "assistant", "tool_calls": [CALL_1]} | ({key: "Look it up."} if key else {})
    second = {"role": "assistant", "content": "A small feline."} | ({key: "Answer briefly."} if key else {})
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [
            {"role": "user", "content": "What is a cat?"},
            first,
            {"role": "tool", "content": "a small feline", "tool_call_id": "call_1"},
            second,
            {"role": "user", "content": "Thanks"},
        ],
        "max_tokens": 64,
        "tools": [LOOKUP_TOOL, {"type": "function", "function": {"name": "noop"}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "parallel_tool_calls": False,
        "response_format": {"type": "json_object"},
        "logprobs": True,
        "top_logprobs": 2,
        "reasoning_effort": "high",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    match provider_type:
        case "openai-compatible":
            del body["reasoning_effort"]
        case "ollama":
            for unsupported in ("tool_choice", "parallel_tool_calls", "logprobs", "top_logprobs"):
                del body[unsupported]
        case "llamacpp":  # named choice emulated; logprobs with tools cannot stream there
            body |= {"tools": [LOOKUP_TOOL], "tool_choice": "required", "cache_prompt": True}
            del body["stream"], body["stream_options"]
        case "openai":
            body["max_completion_tokens"] = body.pop("max_tokens")
    return body


@pytest.mark.parametrize("adapter", PROVIDER_TYPES, indirect=True)
async def test_request_body(
    adapter: Provider, scripted_upstream: ScriptedUpstream, request: pytest.FixtureRequest
) -> None:
    provider_type = request.node.callspec.params["adapter"]
    scripted_upstream.enqueue(Script(text="ok"))

    await collect(adapter, FULL_REQUEST)

    [received] = scripted_upstream.received
    assert received.body == expected_body(provider_type)
    assert received.headers["authorization"] == "Bearer sk-test"


OLLAMA_EFFORTS = {"none": "none", "minimal": "low", "low": "low", "medium": "medium", "high": "high"}


@pytest.mark.parametrize(
    ("adapter", "effort", "sent"),
    [
        *[("ollama", effort, sent) for effort, sent in OLLAMA_EFFORTS.items()],
        *[("ollama", "xhigh", "high"), ("ollama", "max", "high"), ("ollama", None, None)],
        *[("openai", "max", "xhigh"), ("openai", "minimal", "minimal")],
        *[("vllm", "max", "max"), ("llamacpp", "none", "none")],
    ],
    indirect=["adapter"],
)
async def test_reasoning_effort_values(
    adapter: Provider, scripted_upstream: ScriptedUpstream, effort: str | None, sent: str | None
) -> None:
    await collect(adapter, ChatRequest(MODEL, CONVERSATION, reasoning_effort=effort))

    assert scripted_upstream.requests[-1].get("reasoning_effort") == sent


@pytest.mark.parametrize("adapter", ["llamacpp"], indirect=True)
async def test_llamacpp_named_choice_of_an_unknown_tool_is_sent_as_is(
    adapter: Provider, scripted_upstream: ScriptedUpstream
) -> None:
    req = ChatRequest(MODEL, CONVERSATION, tools=(LOOKUP,), tool_choice=NamedToolChoice("missing"))

    await collect(adapter, req)

    body = scripted_upstream.requests[-1]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "missing"}}
    assert [tool["function"]["name"] for tool in body["tools"]] == ["lookup"]


@pytest.mark.parametrize("adapter", ["llamacpp"], indirect=True)
async def test_llamacpp_think_tags_keep_the_logprobs_of_visible_text_only(
    adapter: Provider, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=["<think>", "hmm", "</think>", "Hi"], logprobs=True, usage=None))

    deltas = await collect(adapter, ChatRequest(MODEL, CONVERSATION, logprobs=True))

    assert deltas == [r("hmm"), TextDelta("Hi", (TokenLogprob("Hi", -0.5, (72, 105)),)), STOP]


@pytest.mark.parametrize(
    ("provider_type", "overrides", "field"),
    [
        ("vllm", {"reasoning_field": "reasoning_content"}, "reasoning_content"),
        ("vllm", {"accepts_reasoning_input": False}, None),
        ("openai-compatible", {"reasoning_field": "reasoning", "accepts_reasoning_input": True}, "reasoning"),
        ("ollama", {"accepts_reasoning_input": False}, None),
    ],
)
async def test_capability_overrides_change_the_reasoning_sent_back(
    scripted_upstream: ScriptedUpstream, provider_type: str, overrides: dict[str, object], field: str | None
) -> None:
    provider = build_provider(provider_type, scripted_upstream.base_url, None, 5.0, overrides)
    try:
        await collect(provider, ChatRequest(MODEL, CONVERSATION))
    finally:
        await provider.aclose()

    assistant = scripted_upstream.requests[-1]["messages"][3]
    reasoning_keys = {k for k in assistant if k in ("reasoning", "reasoning_content")}
    assert reasoning_keys == ({field} if field else set())


@pytest.mark.parametrize("adapter", ["llamacpp"], indirect=True)
async def test_llamacpp_logprobs_with_tools_are_fetched_unstreamed(
    adapter: Provider, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=["Hi"], logprobs=True, usage=None))
    req = ChatRequest(MODEL, CONVERSATION, tools=(LOOKUP,), logprobs=True)

    deltas = await collect(adapter, req)

    assert deltas == [TextDelta("Hi", (TokenLogprob("Hi", -0.5, (72, 105)),)), STOP]
    body = scripted_upstream.requests[-1]
    assert "stream" not in body
    assert body["logprobs"] is True
