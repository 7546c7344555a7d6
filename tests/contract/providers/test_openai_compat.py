"""The OpenAI-compatible adapter against a real scripted upstream, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    ChatMessage,
    ChatRequest,
    FinishDelta,
    FinishReason,
    FunctionTool,
    ImagePart,
    NamedToolChoice,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    TextPart,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    TopLogprob,
    UsageDelta,
)
from rejoinder.providers.openai_compat import OpenAICompatProvider, UpstreamConfig
from rejoinder.providers.timeouts import UpstreamTimeouts
from rejoinder.providers.transport.sse_framer import SseFramer
from tests.contract.providers.streams import collect, collect_until_error
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream

USER = ChatMessage("user", "Hi there")
FIVE_S = UpstreamTimeouts.uniform(5.0)


def chat(*, stream: bool = True, **kwargs: Any) -> ChatRequest:
    return ChatRequest(model="scripted-model", messages=(USER,), stream=stream, **kwargs)


@pytest.fixture(params=["http1", "aiohttp"])
async def provider(
    scripted_upstream: ScriptedUpstream, request: pytest.FixtureRequest
) -> AsyncIterator[OpenAICompatProvider]:
    """The adapter on each transport: a plain-HTTP upstream takes `http1`; request hooks (tracing's,
    here none) make it take aiohttp, as TLS, a proxy or an injected session do."""
    hooks = [aiohttp.TraceConfig()] if request.param == "aiohttp" else []
    adapter = OpenAICompatProvider(
        UpstreamConfig(scripted_upstream.base_url, api_key="sk-test", timeouts=FIVE_S), trace_configs=hooks
    )
    yield adapter
    await adapter.aclose()


def calls_by_index(deltas: list[ChatDelta]) -> dict[int, list[ToolCallDelta]]:
    calls: dict[int, list[ToolCallDelta]] = {}
    for delta in deltas:
        if isinstance(delta, ToolCallDelta):
            calls.setdefault(delta.index, []).append(delta)
    return calls


# -- streams ----------------------------------------------------------------------------------------


async def test_text_stream(provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream) -> None:
    scripted_upstream.enqueue(Script(text=["Hel", "lo", " world"], usage=(5, 3, 2, 0)))

    deltas = await collect(provider, chat())

    assert deltas == [
        TextDelta("Hel"),
        TextDelta("lo"),
        TextDelta(" world"),
        UsageDelta(input_tokens=5, output_tokens=3, cached_tokens=2, reasoning_tokens=0),
        FinishDelta("stop"),
    ]
    [received] = scripted_upstream.received
    assert received.body is not None
    assert received.body["stream"] is True
    assert received.body["stream_options"] == {"include_usage": True}
    assert received.headers["authorization"] == "Bearer sk-test"
    assert received.headers["accept"] == "text/event-stream"
    assert await asyncio.to_thread(received.wait_ended, 3.0) == "completed"


@pytest.mark.parametrize(
    ("http_chunk_bytes", "close_delimited"),
    [(7, False), (100_000, False), (None, True)],
    ids=["events-cut-across-chunks", "whole-stream-in-one-chunk", "close-delimited"],
)
async def test_stream_framing_does_not_change_the_deltas(
    provider: OpenAICompatProvider,
    scripted_upstream: ScriptedUpstream,
    http_chunk_bytes: int | None,
    close_delimited: bool,
) -> None:
    text = [f"t{i} " for i in range(40)]
    scripted_upstream.enqueue(
        Script(text=text, http_chunk_bytes=http_chunk_bytes, close_delimited=close_delimited)
    )

    deltas = await collect(provider, chat())

    assert [d.text for d in deltas if isinstance(d, TextDelta)] == text
    assert deltas[-1] == FinishDelta("stop")


async def test_default_answer_echoes_the_last_user_text(provider: OpenAICompatProvider) -> None:
    deltas = await collect(provider, chat())

    assert "".join(d.text for d in deltas if isinstance(d, TextDelta)) == "You said: Hi there"
    assert deltas[-1] == FinishDelta("stop")


async def test_non_stream(provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream) -> None:
    scripted_upstream.enqueue(Script(text="Hello world", reasoning=["Let me ", "think"], usage=(3, 4, 0, 2)))

    deltas = await collect(provider, chat(stream=False))

    assert deltas == [
        ReasoningDelta("Let me think"),
        TextDelta("Hello world"),
        UsageDelta(3, 4, 0, 2),
        FinishDelta("stop"),
    ]
    body = scripted_upstream.requests[-1]
    assert "stream" not in body
    assert "stream_options" not in body


@pytest.mark.parametrize("field_name", ["reasoning_content", "reasoning"])
async def test_reasoning_deltas(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, field_name: str
) -> None:
    scripted_upstream.enqueue(
        Script(text=["4"], reasoning=["2+2", " is 4"], reasoning_field=field_name, usage=None)
    )

    deltas = await collect(provider, chat())

    assert deltas == [ReasoningDelta("2+2"), ReasoningDelta(" is 4"), TextDelta("4"), FinishDelta("stop")]


async def test_parallel_tool_calls_stream_as_fragments(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    calls = [
        ScriptedToolCall("call_a", "get_weather", '{"city": "Paris"}', chunks=3),
        ScriptedToolCall("call_b", "get_time", '{"tz": "Europe/Paris"}', chunks=4),
    ]
    scripted_upstream.enqueue(Script(tool_calls=calls, usage=None))

    deltas = await collect(provider, chat())

    by_index = calls_by_index(deltas)
    assert sorted(by_index) == [0, 1]
    for index, expected in enumerate(calls):
        fragments = by_index[index]
        assert len(fragments) == 1 + expected.chunks
        assert fragments[0] == ToolCallDelta(index, expected.id, expected.name, "")
        assert all(f.id is None and f.name is None for f in fragments[1:])
        assert "".join(f.arguments for f in fragments) == expected.arguments
    assert deltas[-1] == FinishDelta("tool_calls")


async def test_tool_calls_non_stream(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    calls = [ScriptedToolCall("call_a", "f", '{"a": 1}'), ScriptedToolCall("call_b", "g", "{}")]
    scripted_upstream.enqueue(Script(tool_calls=calls, usage=None))

    deltas = await collect(provider, chat(stream=False))

    assert deltas == [
        ToolCallDelta(0, "call_a", "f", '{"a": 1}'),
        ToolCallDelta(1, "call_b", "g", "{}"),
        FinishDelta("tool_calls"),
    ]


@pytest.mark.parametrize("stream", [True, False])
async def test_refusal(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, stream: bool
) -> None:
    scripted_upstream.enqueue(Script(refusal="I can't help with that.", usage=None))

    deltas = await collect(provider, chat(stream=stream))

    refusals = [d for d in deltas if isinstance(d, RefusalDelta)]
    assert "".join(r.text for r in refusals) == "I can't help with that."
    assert len(refusals) == (5 if stream else 1)
    assert not [d for d in deltas if isinstance(d, TextDelta)]
    assert deltas[-1] == FinishDelta("stop")


@pytest.mark.parametrize("stream", [True, False])
async def test_logprobs(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, stream: bool
) -> None:
    scripted_upstream.enqueue(Script(text=["Hi", "!"], logprobs=True, usage=None))

    deltas = await collect(provider, chat(stream=stream, logprobs=True, top_logprobs=2))

    def token(text: str) -> TokenLogprob:
        raw = tuple(text.encode())
        top = (TopLogprob(text, -0.5, raw), TopLogprob("alt1", -2.0, tuple(b"alt1")))
        return TokenLogprob(text, -0.5, raw, top)

    expected = (
        [TextDelta("Hi", (token("Hi"),)), TextDelta("!", (token("!"),))]
        if stream
        else [TextDelta("Hi!", (token("Hi"), token("!")))]
    )
    assert deltas == [*expected, FinishDelta("stop")]
    body = scripted_upstream.requests[-1]
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 2


@pytest.mark.parametrize(
    ("usage", "in_final_chunk"),
    [((7, 2, 3, 1), True), ((7, 2, 3, 1), False), (None, True)],
    ids=["final-chunk", "same-chunk-as-finish", "absent"],
)
async def test_usage_placement(
    provider: OpenAICompatProvider,
    scripted_upstream: ScriptedUpstream,
    usage: tuple[int, int, int, int] | None,
    in_final_chunk: bool,
) -> None:
    scripted_upstream.enqueue(Script(text=["ok"], usage=usage, usage_in_final_chunk=in_final_chunk))

    deltas = await collect(provider, chat())

    tail: list[ChatDelta] = [UsageDelta(7, 2, 3, 1)] if usage else []
    assert deltas == [TextDelta("ok"), *tail, FinishDelta("stop")]


async def test_usage_without_details_counts_zero(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    usage = '{"id":"x","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1}}'
    finish = '{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}'
    scripted_upstream.enqueue(Script(raw_events=[finish, usage, "[DONE]"]))

    assert await collect(provider, chat()) == [TextDelta("a"), UsageDelta(4, 1, 0, 0), FinishDelta("stop")]


@pytest.mark.parametrize(
    ("upstream_reason", "reason"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("content_filter", "content_filter"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("eos", "stop"),
        ("abort", "stop"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
async def test_finish_reason_mapping(
    provider: OpenAICompatProvider,
    scripted_upstream: ScriptedUpstream,
    upstream_reason: str,
    reason: FinishReason,
    stream: bool,
) -> None:
    scripted_upstream.enqueue(Script(text="x", finish_reason=upstream_reason, usage=None))

    deltas = await collect(provider, chat(stream=stream))

    assert [d for d in deltas if isinstance(d, FinishDelta)] == [FinishDelta(reason)]
    assert deltas[-1] == FinishDelta(reason)


async def test_done_without_finish_reason_still_finishes(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    chunk = '{"id":"x","choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]}'
    scripted_upstream.enqueue(Script(raw_events=[chunk, "[DONE]"]))

    assert await collect(provider, chat()) == [TextDelta("partial"), FinishDelta("stop")]


async def test_unicode_line_separators_inside_an_event_are_text(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    text = "a\u2028b\u2029c\x85d"  # raw in the JSON, as vLLM writes them: SSE lines end only at CR or LF
    delta = {"index": 0, "delta": {"content": text}, "finish_reason": "stop"}
    chunk = json.dumps({"id": "x", "choices": [delta]}, ensure_ascii=False)
    scripted_upstream.enqueue(Script(raw_events=[chunk, "[DONE]"]))

    assert await collect(provider, chat()) == [TextDelta(text), FinishDelta("stop")]


def _event(text: str) -> bytes:
    return b'{"id":"x","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}' % text.encode()


@pytest.mark.parametrize(
    "body",
    [
        b"data: %b\n\ndata: %b\n\n",
        b"data: %b\r\n\r\ndata: %b\r\n\r\n",
        b"data: %b\r\rdata: %b\r\r",
        b": comment\nevent: chunk\nid: 1\ndata:%b\n\nretry: 5\ndata: %b\n\n",
    ],
    ids=["lf", "crlf", "cr", "other-fields"],
)
@pytest.mark.parametrize("piece", [1, 7, 1000])
def test_sse_framing_whatever_the_line_ends_and_chunking(body: bytes, piece: int) -> None:
    raw = body % (_event("one"), _event("two")) + b"data: [DONE]\n\n"
    framer = SseFramer()

    events = [event for at in range(0, len(raw), piece) for event in framer.feed(raw[at : at + piece])]

    assert events == [_event("one"), _event("two"), b"[DONE]"]


def test_sse_multi_line_data_is_joined_with_newlines() -> None:
    framer = SseFramer()

    assert list(framer.feed(b'data: {"a":\r\ndata:  1}\r\n')) == []
    assert list(framer.feed(b"\r\n")) == [b'{"a":\n 1}']


# -- the request the upstream receives --------------------------------------------------------------

CONVERSATION = (
    ChatMessage("system", "Be brief."),
    ChatMessage("developer", "Use tools."),
    ChatMessage("user", (TextPart("What is this?"), ImagePart("https://x.test/cat.png", "low"))),
    ChatMessage(
        "assistant",
        None,
        tool_calls=(ToolCall("call_1", "lookup", '{"q": "cat"}'),),
        reasoning="The user wants a lookup.",
    ),
    ChatMessage("tool", "a cat", tool_call_id="call_1"),
    ChatMessage("assistant", "A cat.", reasoning="Answer briefly."),
    ChatMessage("user", "Thanks"),
)


SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}
FULL_REQUEST = ChatRequest(
    model="scripted-model",
    messages=CONVERSATION,
    temperature=0.2,
    top_p=0.9,
    presence_penalty=0.1,
    frequency_penalty=0.3,
    max_output_tokens=64,
    tools=(FunctionTool("lookup", "Look it up", SCHEMA, strict=True), FunctionTool("noop")),
    tool_choice=NamedToolChoice("lookup"),
    parallel_tool_calls=False,
    response_format={"type": "json_object"},
    reasoning_effort="high",
    user="u-1",
    safety_identifier="s-1",
    prompt_cache_key="k-1",
    service_tier="flex",
    metadata={"trace": "t-1"},
)


EXPECTED_BODY = {
    "model": "scripted-model",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use tools."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x.test/cat.png", "detail": "low"}},
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "cat"}'},
                }
            ],
        },
        {"role": "tool", "content": "a cat", "tool_call_id": "call_1"},
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "Thanks"},
    ],
    "temperature": 0.2,
    "top_p": 0.9,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.3,
    "max_tokens": 64,
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look it up",
                "parameters": SCHEMA,
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "noop"}},
    ],
    "tool_choice": {"type": "function", "function": {"name": "lookup"}},
    "parallel_tool_calls": False,
    "response_format": {"type": "json_object"},
    "user": "u-1",
    "safety_identifier": "s-1",
    "prompt_cache_key": "k-1",
    "service_tier": "flex",
    "stream": True,
    "stream_options": {"include_usage": True},
}


async def test_request_body_mapping(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    await collect(provider, FULL_REQUEST)

    assert scripted_upstream.requests[-1] == EXPECTED_BODY


async def test_unset_keys_are_omitted(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    await collect(provider, chat(stream=False, tool_choice="required"))

    assert scripted_upstream.requests[-1] == {
        "model": "scripted-model",
        "messages": [{"role": "user", "content": "Hi there"}],
        "tool_choice": "required",
    }


async def test_reasoning_input_and_effort_when_capable(scripted_upstream: ScriptedUpstream) -> None:
    caps = Capabilities(
        reasoning_field="reasoning_content", accepts_reasoning_input=True, reasoning_effort=True
    )
    adapter = OpenAICompatProvider(UpstreamConfig(scripted_upstream.base_url, None, FIVE_S, caps))
    try:
        await collect(adapter, ChatRequest("scripted-model", CONVERSATION, reasoning_effort="low"))
    finally:
        await adapter.aclose()

    [received] = scripted_upstream.received
    assert received.body is not None
    assert "authorization" not in received.headers
    assert received.body["reasoning_effort"] == "low"
    messages = received.body["messages"]
    assert messages[3]["reasoning_content"] == "The user wants a lookup."
    assert messages[5] == {"role": "assistant", "content": "A cat.", "reasoning_content": "Answer briefly."}
    assert all("reasoning_content" not in m for m in messages if m["role"] != "assistant")


# -- failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_http_500(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, stream: bool
) -> None:
    scripted_upstream.enqueue(Script(status=500))

    deltas, error = await collect_until_error(provider, chat(stream=stream))

    assert deltas == []
    assert (error.kind, error.status, error.message, error.retry_after) == (
        "status",
        500,
        "scripted error 500",
        None,
    )


async def test_http_429_with_retry_after(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    body = {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit"}}
    scripted_upstream.enqueue(Script(status=429, error_body=body, retry_after="7"))

    _, error = await collect_until_error(provider, chat())

    assert (error.kind, error.status, error.message, error.retry_after) == (
        "status",
        429,
        "Rate limit reached",
        "7",
    )


@pytest.mark.parametrize(
    ("error_body", "message"),
    [
        ("overloaded, try later", "overloaded, try later"),
        ({"object": "error", "message": "bad model"}, "bad model"),
    ],
    ids=["text", "vllm-flat"],
)
async def test_error_message_shapes(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, error_body: Any, message: str
) -> None:
    scripted_upstream.enqueue(Script(status=503, error_body=error_body))

    _, error = await collect_until_error(provider, chat())

    assert (error.kind, error.status, error.message) == ("status", 503, message)


@pytest.mark.parametrize("close_delimited", [False, True], ids=["chunked", "close-delimited"])
async def test_connection_dropped_mid_stream(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, close_delimited: bool
) -> None:
    script = Script(text=["one ", "two ", "three"], drop_after_chunks=3, close_delimited=close_delimited)
    scripted_upstream.enqueue(script)

    deltas, error = await collect_until_error(provider, chat())

    assert deltas == [TextDelta("one "), TextDelta("two ")]
    assert error.kind == "protocol"
    assert scripted_upstream.received[-1].outcome == "dropped"


async def test_connection_dropped_non_stream(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text="a long answer", drop_after_chunks=0))

    _, error = await collect_until_error(provider, chat(stream=False))

    assert error.kind == "protocol"


@pytest.mark.parametrize(
    ("events", "stream"),
    [(["{not json"], True), (["[1, 2]"], True), (["{not json"], False), (['{"id": "x"}'], False)],
    ids=["sse-bad-json", "sse-not-object", "body-bad-json", "body-no-choices"],
)
async def test_malformed_upstream_json(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, events: list[str], stream: bool
) -> None:
    scripted_upstream.enqueue(Script(raw_events=events))

    _, error = await collect_until_error(provider, chat(stream=stream))

    assert error.kind == "protocol"


async def test_error_reported_inside_the_stream(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    chunk = '{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}'
    error = '{"error":{"message":"engine died","type":"InternalServerError","code":500}}'
    scripted_upstream.enqueue(Script(raw_events=[chunk, error]))

    deltas, caught = await collect_until_error(provider, chat())

    assert deltas == [TextDelta("a")]
    assert (caught.kind, caught.status, caught.message) == ("status", 500, "engine died")


async def test_a_header_the_transport_refuses_is_an_upstream_error(
    scripted_upstream: ScriptedUpstream,
) -> None:
    adapter = OpenAICompatProvider(
        UpstreamConfig(scripted_upstream.base_url, api_key="sk-a\nb", timeouts=FIVE_S)
    )
    try:
        _, error = await collect_until_error(adapter, chat())
    finally:
        await adapter.aclose()

    assert error.kind == "protocol"
    assert scripted_upstream.received == []


@pytest.mark.parametrize("base_url", ["ftp://127.0.0.1/v1", "no url at all", "http://[::1/v1"])
async def test_an_unusable_url_is_a_connect_error(base_url: str) -> None:
    adapter = OpenAICompatProvider(UpstreamConfig(base_url, timeouts=FIVE_S))
    try:
        _, error = await collect_until_error(adapter, chat())
    finally:
        await adapter.aclose()

    assert error.kind == "connect"


async def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = OpenAICompatProvider(UpstreamConfig(f"http://127.0.0.1:{port}/v1", timeouts=FIVE_S))
    try:
        _, error = await collect_until_error(adapter, chat())
    finally:
        await adapter.aclose()

    assert error.kind == "connect"


# The timeouts have their own suite: test_timeouts.py.


# -- the consumer goes away -------------------------------------------------------------------------


async def test_closing_the_generator_closes_the_upstream_request(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=[f"t{i} " for i in range(200)], delay_s=0.02))
    deltas = provider.stream(chat())

    assert await anext(deltas) == TextDelta("t0 ")
    assert await anext(deltas) == TextDelta("t1 ")
    await deltas.aclose()

    outcome = await asyncio.to_thread(scripted_upstream.received[-1].wait_ended, 3.0)
    assert outcome == "client_gone"


async def test_cancelling_the_consumer_closes_the_upstream_request(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=[f"t{i} " for i in range(200)], delay_s=0.02))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.stream(chat()):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    outcome = await asyncio.to_thread(scripted_upstream.received[-1].wait_ended, 3.0)
    assert outcome == "client_gone"


# -- client ownership and the scripted upstream's own surface ---------------------------------------


async def test_injected_session_is_used_and_left_open(scripted_upstream: ScriptedUpstream) -> None:
    async with aiohttp.ClientSession(headers={"x-injected": "yes"}) as session:
        adapter = OpenAICompatProvider(UpstreamConfig(scripted_upstream.base_url, timeouts=FIVE_S), session)
        await collect(adapter, chat())
        await adapter.aclose()

        assert not session.closed
        assert scripted_upstream.received[-1].headers["x-injected"] == "yes"


async def test_scripted_upstream_models_and_unknown_paths(scripted_upstream: ScriptedUpstream) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{scripted_upstream.base_url}/models") as reply:
            models = await reply.json()
        async with session.post(f"{scripted_upstream.base_url}/audio/speech", json={"input": "x"}) as reply:
            missing_status, missing = reply.status, await reply.json()

    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["scripted-model"]
    assert missing_status == 404
    assert "audio/speech" in missing["error"]["message"]


@pytest.mark.parametrize("stream", [True, False])
async def test_a_big_request_arrives_whole_sent_in_pieces(
    provider: OpenAICompatProvider, scripted_upstream: ScriptedUpstream, stream: bool
) -> None:
    """Over 256 KiB the body is written piece by piece (never joined whole): the upstream reads the same
    JSON, every message in order."""
    messages = tuple(ChatMessage("user", f"{n:05d} " + "é" * 300) for n in range(2000))  # about 1.2 MB
    await collect(provider, ChatRequest(model="scripted-model", messages=messages, stream=stream))
    received = scripted_upstream.requests[-1]
    assert [m["content"] for m in received["messages"]] == [m.content for m in messages]
    assert received["model"] == "scripted-model" and received.get("stream", False) is stream
