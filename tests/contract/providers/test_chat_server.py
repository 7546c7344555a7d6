"""A provider served by `ChatServer` and reached through the generic adapter, over real HTTP on loopback.

What a worker without the local model sees must be what the owning worker's provider said: the same
`ChatRequest` arrives, the same deltas come back, and failures keep their status and `Retry-After`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    ChatMessage,
    ChatRequest,
    FinishDelta,
    FunctionTool,
    ImagePart,
    NamedToolChoice,
    Provider,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    TextPart,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    TopLogprob,
    UpstreamError,
    UpstreamModel,
    UsageDelta,
)
from rejoinder.providers.chat_server import ChatServer, start_chat_server
from rejoinder.providers.factory import build_provider
from rejoinder.providers.local import LocalModelConfig, LocalProvider, default_model_path, unavailable_reason
from tests.contract.providers.streams import collect, collect_until_error

TOKEN = "test-token-6f1d"
# The client as capable as the protocol allows, so every field the encoder can send is sent.
FULL = {"reasoning_effort": True, "accepts_reasoning_input": True, "reasoning_field": "reasoning_content"}
HELLO = (ChatMessage("user", "Hello"),)


@dataclass
class Script:
    """A provider that records each request and answers with `deltas` (an `UpstreamError` or other
    exception among them is raised there); with `hang`, it then waits forever."""

    deltas: Sequence[ChatDelta | Exception] = (FinishDelta("stop"),)
    hang: bool = False
    models_list: list[UpstreamModel] = field(default_factory=list)
    requests: list[ChatRequest] = field(default_factory=list)
    stopped_by: type[BaseException] | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    async def stream(self, req: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        self.requests.append(req)
        self.started.set()
        try:
            for delta in self.deltas:
                if isinstance(delta, Exception):
                    raise delta
                yield delta
            if self.hang:
                await asyncio.Event().wait()
        except (GeneratorExit, asyncio.CancelledError) as exc:
            self.stopped_by = type(exc)
            raise
        finally:
            self.stopped.set()

    async def models(self) -> list[UpstreamModel]:
        return self.models_list

    async def aclose(self) -> None:
        return None


def adapter(server: ChatServer, token: str = TOKEN, **overrides: object) -> Provider:
    return build_provider("openai-compatible", server.base_url, token, 10.0, overrides or FULL)


async def raw(
    server: ChatServer, method: str, path: str, body: bytes = b"", token: str | None = None
) -> tuple[int, bytes, Mapping[str, str]]:
    """One plain HTTP call: its status, body and headers."""
    headers = {"content-type": "application/json"} | ({"authorization": f"Bearer {token}"} if token else {})
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, server.base_url + path, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.read(), resp.headers


def events(body: bytes) -> list[Any]:
    """The JSON of each `data:` event of an SSE body; `[DONE]` as the string."""
    datas = [line.removeprefix(b"data: ") for line in body.split(b"\n\n") if line]
    return [data.decode() if data == b"[DONE]" else json.loads(data) for data in datas]


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
async def server(script: Script) -> AsyncIterator[ChatServer]:
    running = await start_chat_server(script, token=TOKEN)
    yield running
    await running.close()


@pytest.fixture
async def client(server: ChatServer) -> AsyncIterator[Provider]:
    provider = adapter(server)
    yield provider
    await provider.aclose()


# -- hypothesis: requests and streams, on one loop and one server for the module ---------------------


@dataclass
class Rig:
    runner: asyncio.Runner
    script: Script
    client: Provider


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        script = Script()
        running = runner.run(start_chat_server(script, token=TOKEN))
        provider = adapter(running)
        yield Rig(runner, script, provider)
        runner.run(provider.aclose())
        runner.run(running.close())


texts = st.text(max_size=12)
words = st.text(min_size=1, max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(texts, json_values, max_size=4)
parts = st.one_of(
    st.builds(TextPart, texts),
    st.builds(ImagePart, words, st.none() | st.sampled_from(["low", "high", "auto"])),
)
tool_calls = st.builds(ToolCall, words, words, texts)


@st.composite
def messages(draw: st.DrawFn) -> ChatMessage:
    role = draw(st.sampled_from(["system", "developer", "user", "assistant", "tool"]))
    return ChatMessage(
        role=role,
        content=draw(st.none() | texts | st.lists(parts, max_size=3).map(tuple)),
        tool_calls=draw(st.lists(tool_calls, max_size=2).map(tuple)),
        tool_call_id=draw(st.none() | words),
        reasoning=draw(st.none() | texts) if role == "assistant" else None,  # only assistants send it
    )


@st.composite
def requests(draw: st.DrawFn) -> ChatRequest:
    logprobs = draw(st.booleans())
    return ChatRequest(
        model=draw(words),
        messages=tuple(draw(st.lists(messages(), max_size=4))),
        stream=draw(st.booleans()),
        temperature=draw(st.none() | finite),
        top_p=draw(st.none() | finite),
        presence_penalty=draw(st.none() | finite),
        frequency_penalty=draw(st.none() | finite),
        max_output_tokens=draw(st.none() | st.integers(0, 2**31)),
        tools=tuple(
            draw(
                st.lists(
                    st.builds(
                        FunctionTool,
                        words,
                        st.none() | texts,
                        st.none() | json_objects,
                        st.none() | st.booleans(),
                    ),
                    max_size=3,
                )
            )
        ),
        tool_choice=draw(
            st.none() | st.sampled_from(["auto", "none", "required"]) | st.builds(NamedToolChoice, words)
        ),
        parallel_tool_calls=draw(st.none() | st.booleans()),
        response_format=draw(st.none() | json_objects),
        logprobs=logprobs,
        top_logprobs=draw(st.none() | st.integers(0, 20)) if logprobs else None,  # sent only with logprobs
        reasoning_effort=draw(st.none() | texts),
        user=draw(st.none() | texts),
        safety_identifier=draw(st.none() | texts),
        prompt_cache_key=draw(st.none() | texts),
        service_tier=draw(st.none() | texts),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(req=requests())
def test_the_provider_receives_the_request_the_client_sent(rig: Rig, req: ChatRequest) -> None:
    rig.script.deltas = (FinishDelta("stop"),)
    rig.script.requests.clear()

    rig.runner.run(collect(rig.client, req))

    assert rig.script.requests == [req]


byte_lists = st.none() | st.lists(st.integers(0, 255), max_size=4).map(tuple)
top_logprobs = st.builds(TopLogprob, words, finite, byte_lists)
token_logprobs = st.builds(
    TokenLogprob, words, finite, byte_lists, st.lists(top_logprobs, max_size=2).map(tuple)
)
body_deltas = st.one_of(
    st.builds(TextDelta, words, st.lists(token_logprobs, max_size=2).map(tuple)),
    st.builds(TextDelta, st.just(""), st.lists(token_logprobs, min_size=1, max_size=2).map(tuple)),
    st.builds(ReasoningDelta, words),
    st.builds(RefusalDelta, words),
    st.tuples(st.integers(0, 2), texts),  # a fragment of the tool call at that index
)
usages = st.builds(UsageDelta, *(st.integers(0, 2**31) for _ in range(4)))


@st.composite
def answers(draw: st.DrawFn) -> list[ChatDelta]:
    """A stream in the adapter's normal form: a call's id and name in its first fragment, then usage
    (if any) and one finish reason (`stop` is `tool_calls` once a call was made)."""
    out: list[ChatDelta] = []
    started: set[int] = set()
    for item in draw(st.lists(body_deltas, max_size=10)):
        if isinstance(item, tuple):
            index, arguments = item
            first = index not in started
            started.add(index)
            call_id, name = (draw(words), draw(words)) if first else (None, None)
            out.append(ToolCallDelta(index, call_id, name, arguments))
        else:
            out.append(item)
    out.extend(draw(st.lists(usages, max_size=1)))
    reasons = ["tool_calls", "length", "content_filter"] if started else ["stop", "length", "content_filter"]
    out.append(FinishDelta(draw(st.sampled_from(reasons))))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deltas=answers())
def test_a_stream_comes_back_delta_for_delta(rig: Rig, deltas: list[ChatDelta]) -> None:
    rig.script.deltas = deltas

    received = rig.runner.run(collect(rig.client, ChatRequest("m", HELLO)))

    assert received == deltas


def test_every_field_the_encoder_sends(rig: Rig) -> None:
    req = ChatRequest(
        model="local/smollm2-135m",
        messages=(
            ChatMessage("system", "Be brief."),
            ChatMessage("user", (TextPart("What is this?"), ImagePart("data:image/png;base64,AAAA", "low"))),
            ChatMessage(
                "assistant", None, (ToolCall("call_1", "look", '{"at": "it"}'),), reasoning="Look first."
            ),
            ChatMessage("tool", "a cat", tool_call_id="call_1"),
        ),
        stream=True,
        temperature=0.25,
        top_p=0.9,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        max_output_tokens=64,
        tools=(FunctionTool("look", "Look at a thing", {"type": "object", "properties": {}}, strict=True),),
        tool_choice=NamedToolChoice("look"),
        parallel_tool_calls=False,
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        logprobs=True,
        top_logprobs=3,
        reasoning_effort="low",
        user="u-1",
        safety_identifier="s-1",
        prompt_cache_key="k-1",
        service_tier="default",
    )
    rig.script.requests.clear()

    rig.runner.run(collect(rig.client, req))

    assert rig.script.requests == [req]


# -- non-streamed answers ------------------------------------------------------------------------------


async def test_a_non_streamed_answer_is_one_completion_of_the_same_content(
    script: Script, client: Provider
) -> None:
    lp = (TokenLogprob("Hi", -0.5, (72, 105), (TopLogprob("Hey", -1.5, None),)),)
    script.deltas = (
        ReasoningDelta("Think"),
        ReasoningDelta("ing."),
        TextDelta("Hi", lp),
        TextDelta(" there"),
        ToolCallDelta(1, "call_b", "second", '{"b"'),
        ToolCallDelta(0, "call_a", "first", "{}"),
        ToolCallDelta(1, None, None, ": 2}"),
        UsageDelta(input_tokens=11, output_tokens=7, cached_tokens=3, reasoning_tokens=2),
        FinishDelta("tool_calls"),
    )

    received = await collect(client, ChatRequest("m", HELLO, stream=False))

    assert received == [
        ReasoningDelta("Thinking."),
        TextDelta("Hi there", lp),
        ToolCallDelta(0, "call_a", "first", "{}"),
        ToolCallDelta(1, "call_b", "second", '{"b": 2}'),
        UsageDelta(input_tokens=11, output_tokens=7, cached_tokens=3, reasoning_tokens=2),
        FinishDelta("tool_calls"),
    ]
    assert script.requests[0].stream is False


async def test_a_refusal_and_a_length_finish_without_streaming(script: Script, client: Provider) -> None:
    script.deltas = (RefusalDelta("I can't "), RefusalDelta("help."), FinishDelta("length"))

    received = await collect(client, ChatRequest("m", HELLO, stream=False))

    assert received == [RefusalDelta("I can't help."), FinishDelta("length")]


async def test_an_answer_without_deltas_still_finishes(script: Script, client: Provider) -> None:
    script.deltas = ()

    assert await collect(client, ChatRequest("m", HELLO)) == [FinishDelta("stop")]
    assert await collect(client, ChatRequest("m", HELLO, stream=False)) == [FinishDelta("stop")]


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_a_full_queue_is_a_503_with_retry_after(script: Script, client: Provider, stream: bool) -> None:
    script.deltas = (
        UpstreamError("status", "the local model is busy; retry later", status=503, retry_after="2"),
    )

    deltas, error = await collect_until_error(client, ChatRequest("m", HELLO, stream=stream))

    assert deltas == []
    assert (error.kind, error.status, error.retry_after) == ("status", 503, "2")
    assert error.message == "the local model is busy; retry later"


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (UpstreamError("status", "the input is 5000 tokens; the context is 4096", status=400), 400),
        (UpstreamError("connect", "the local model provider is closed"), 502),
        (UpstreamError("protocol", "the local model failed: RuntimeError"), 502),
        (UpstreamError("timeout", "no first token within 30 s"), 504),
    ],
)
async def test_an_error_before_the_first_delta_keeps_status_and_message(
    script: Script, client: Provider, raised: UpstreamError, status: int
) -> None:
    script.deltas = (raised,)

    _, error = await collect_until_error(client, ChatRequest("m", HELLO))

    assert (error.status, error.message) == (status, raised.message)


async def test_an_error_after_the_stream_started_ends_it_as_an_error(
    script: Script, client: Provider
) -> None:
    script.deltas = (TextDelta("Once upon"), UpstreamError("protocol", "the local model failed: boom"))

    deltas, error = await collect_until_error(client, ChatRequest("m", HELLO))

    assert deltas == [TextDelta("Once upon")]
    assert (error.status, error.message) == (502, "the local model failed: boom")


async def test_an_error_while_folding_a_non_streamed_answer_is_its_status(
    script: Script, client: Provider
) -> None:
    script.deltas = (TextDelta("Once upon"), UpstreamError("status", "too long", status=400))

    deltas, error = await collect_until_error(client, ChatRequest("m", HELLO, stream=False))

    assert deltas == []
    assert (error.status, error.message) == (400, "too long")


async def test_a_provider_bug_is_a_500_before_and_after_the_first_delta(
    script: Script, client: Provider
) -> None:
    script.deltas = (RuntimeError("bug"),)
    _, before = await collect_until_error(client, ChatRequest("m", HELLO))
    script.deltas = (TextDelta("a"), RuntimeError("bug"))
    deltas, after = await collect_until_error(client, ChatRequest("m", HELLO))

    assert (before.status, after.status, deltas) == (500, 500, [TextDelta("a")])
    assert "bug" not in before.message + after.message  # internals stay in the log


async def test_a_wrong_or_missing_token_is_a_401(server: ChatServer, script: Script) -> None:
    wrong = adapter(server, token="not-the-token")
    try:
        _, error = await collect_until_error(wrong, ChatRequest("m", HELLO))
        with pytest.raises(UpstreamError) as listing:
            await wrong.models()
    finally:
        await wrong.aclose()
    status, answer, headers = await raw(
        server, "POST", "/chat/completions", b'{"model": "m", "messages": []}'
    )

    assert (error.status, listing.value.status, status) == (401, 401, 401)
    assert json.loads(answer)["error"]["code"] == "invalid_api_key"
    assert headers.get("www-authenticate") == "Bearer"
    assert script.requests == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b'["model", "messages"]', None),
        (b'{"messages": []}', "model"),
        (b'{"model": "m", "messages": "Hello"}', "messages"),
        (b'{"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}', "messages[0].role"),
        (
            b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]}',
            "messages[0].content[0].type",
        ),
        (b'{"model": "m", "messages": [], "temperature": "hot"}', "temperature"),
        (b'{"model": "m", "messages": [], "max_tokens": 1.5}', "max_tokens"),
        (b'{"model": "m", "messages": [], "tool_choice": {"type": "function"}}', "tool_choice.function"),
        (
            b'{"model": "m", "messages": [], "tools": [{"type": "function", "function": {}}]}',
            "tools[0].function.name",
        ),
    ],
)
async def test_a_bad_body_is_a_400_naming_the_parameter(
    server: ChatServer, script: Script, body: bytes, param: str | None
) -> None:
    status, raw_answer, _ = await raw(server, "POST", "/chat/completions", body, token=TOKEN)
    answer = json.loads(raw_answer)

    assert status == 400
    assert answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["param"] == param
    assert answer["error"]["message"]
    assert script.requests == []


async def test_unknown_routes_are_404s_in_openai_shape(server: ChatServer) -> None:
    status, answer, _ = await raw(server, "GET", "/responses", token=TOKEN)

    assert status == 404
    assert json.loads(answer)["error"]["message"]


# -- a client that goes away ----------------------------------------------------------------------------


async def test_a_client_that_stops_reading_stops_the_provider(script: Script, client: Provider) -> None:
    script.deltas, script.hang = (TextDelta("tick"),), True

    stream = client.stream(ChatRequest("m", HELLO))
    assert isinstance(stream, AsyncGenerator)
    async with contextlib.aclosing(stream):
        assert await anext(stream) == TextDelta("tick")

    await asyncio.wait_for(script.stopped.wait(), 5.0)
    assert script.stopped_by in (GeneratorExit, asyncio.CancelledError)


async def test_a_cancelled_non_streamed_call_stops_the_provider(script: Script, client: Provider) -> None:
    script.deltas, script.hang = (TextDelta("tick"),), True
    call = asyncio.create_task(collect(client, ChatRequest("m", HELLO, stream=False)))
    await asyncio.wait_for(script.started.wait(), 5.0)

    call.cancel()

    await asyncio.wait_for(script.stopped.wait(), 5.0)
    assert script.stopped_by in (GeneratorExit, asyncio.CancelledError)


async def test_closing_the_server_cuts_an_answer_in_flight_after_the_grace(script: Script) -> None:
    server = await start_chat_server(script, token=TOKEN, shutdown_grace_s=0.2)
    client = adapter(server)
    script.deltas, script.hang = (TextDelta("tick"),), True
    try:
        stream = client.stream(ChatRequest("m", HELLO))
        assert await anext(stream) == TextDelta("tick")

        await asyncio.wait_for(server.close(), 5.0)

        await asyncio.wait_for(script.stopped.wait(), 5.0)
        with pytest.raises(UpstreamError):
            await anext(stream)
    finally:
        await client.aclose()


# -- models, binding ---------------------------------------------------------------------------------------


async def test_the_model_list_comes_back_as_the_provider_gave_it(script: Script, client: Provider) -> None:
    script.models_list = [
        UpstreamModel("smollm2-135m", owned_by="rejoinder"),
        UpstreamModel("m2", created=1_700_000_000),
    ]

    assert await client.models() == script.models_list


async def test_it_listens_on_loopback_at_the_port_it_reports(server: ChatServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.port > 0


async def test_it_refuses_to_serve_without_a_token(script: Script) -> None:
    with pytest.raises(ValueError, match="token"):
        await start_chat_server(script, token="")


# -- plain OpenAI clients, big bodies --------------------------------------------------------------------


async def test_usage_is_streamed_only_to_a_client_that_asks(script: Script, server: ChatServer) -> None:
    script.deltas = (TextDelta("Hi"), UsageDelta(input_tokens=5, output_tokens=1), FinishDelta("stop"))
    plain = b'{"model": "m", "messages": [{"role": "user", "content": "Hello"}], "stream": true}'
    asking = plain[:-1] + b', "stream_options": {"include_usage": true}}'

    _, without, headers = await raw(server, "POST", "/chat/completions", plain, token=TOKEN)
    _, with_usage, _ = await raw(server, "POST", "/chat/completions", asking, token=TOKEN)

    assert headers["content-type"].startswith("text/event-stream")
    first, finish, done = events(without)
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "Hi"}
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert done == "[DONE]"
    *_, usage, done = events(with_usage)
    assert usage["choices"] == []
    assert usage["usage"]["prompt_tokens"] == 5
    assert usage["usage"]["completion_tokens"] == 1
    assert usage["usage"]["total_tokens"] == 6
    assert done == "[DONE]"


async def test_a_big_request_arrives_whole(script: Script, client: Provider) -> None:
    long_text = "word " * 400_000  # 2 MB in one message
    many = tuple(ChatMessage("user" if i % 2 else "assistant", f"turn {i}") for i in range(5_000))
    req = ChatRequest("m", (ChatMessage("user", long_text), *many))

    assert await collect(client, req) == [FinishDelta("stop")]
    assert script.requests == [req]


async def test_a_body_over_the_limit_is_a_413(script: Script) -> None:
    server = await start_chat_server(script, token=TOKEN, max_body_bytes=64 * 1024)
    client = adapter(server)
    try:
        _, error = await collect_until_error(client, ChatRequest("m", (ChatMessage("user", "x" * 100_000),)))
    finally:
        await client.aclose()
        await server.close()

    assert error.status == 413
    assert script.requests == []


# -- the real local model ----------------------------------------------------------------------------------

LOCAL_MODEL_MISSING = unavailable_reason(default_model_path())


@pytest.mark.skipif(LOCAL_MODEL_MISSING is not None, reason=f"local model: {LOCAL_MODEL_MISSING}")
async def test_the_local_model_answers_through_the_server() -> None:
    path = default_model_path()
    assert path is not None
    local = LocalProvider(LocalModelConfig(model_path=path, n_threads=1), progress=lambda _: None)
    server = await start_chat_server(local, token=TOKEN)
    client = adapter(server, parallel_tool_calls=False, logprobs=False, images=False)  # local's capabilities
    req = ChatRequest("smollm2-135m", (ChatMessage("user", "Say hello."),), max_output_tokens=12)
    try:
        streamed = await collect(client, req)
        folded = await collect(client, replace(req, stream=False))
        listed = await client.models()
    finally:
        await client.aclose()
        await server.close()
        await local.aclose()

    for deltas in (streamed, folded):
        *_, usage, finish = deltas
        assert "".join(d.text for d in deltas if isinstance(d, TextDelta)).strip()
        assert isinstance(usage, UsageDelta)
        assert usage.input_tokens > 0
        assert 0 < usage.output_tokens <= 12
        assert finish in (FinishDelta("stop"), FinishDelta("length"))
    assert [m.id for m in listed] == ["smollm2-135m"]
