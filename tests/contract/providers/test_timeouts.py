"""The three upstream timeouts of the generic adapter (connect, first token, idle), over real HTTP.

Each expiry must come at about its value, with our message, and close the upstream connection; steady
but slow upstreams, late first tokens within the bound, and slow consumers must not be cut.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from rejoinder.providers.base import (
    ChatDelta,
    ChatMessage,
    ChatRequest,
    FinishDelta,
    TextDelta,
    UpstreamError,
)
from rejoinder.providers.openai_compat import OpenAICompatProvider, UpstreamConfig
from rejoinder.providers.timeouts import UpstreamTimeouts, Watchdog
from tests.scripted_upstream import Script, ScriptedUpstream, UnansweredPort

LATE = 0.6  # how much later than its value a timeout may fire (the loop, a loaded CI machine)
CONNECT = "cannot connect to the upstream within 1 s (connect_timeout_s)"
FIRST_TOKEN = "no first token from the upstream within 1 s (first_token_timeout_s)"
IDLE = "the upstream sent nothing for 1 s after its first token (idle_timeout_s)"
NO_DELTA = json.dumps({"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": None}]})

AdapterFactory = Callable[..., OpenAICompatProvider]


def chat(*, stream: bool = True) -> ChatRequest:
    return ChatRequest(model="scripted-model", messages=(ChatMessage("user", "hi"),), stream=stream)


@pytest.fixture(params=["http1", "aiohttp"])
async def adapter(
    scripted_upstream: ScriptedUpstream, request: pytest.FixtureRequest
) -> AsyncIterator[AdapterFactory]:
    """Adapters on the scripted upstream with the given timeouts (connect defaults to 5 s), on each
    transport (request hooks, here none, make the adapter take aiohttp)."""
    made: list[OpenAICompatProvider] = []
    hooks = [aiohttp.TraceConfig()] if request.param == "aiohttp" else []

    def make(
        first_token: float = 30.0, idle: float = 30.0, base_url: str | None = None
    ) -> OpenAICompatProvider:
        timeouts = UpstreamTimeouts(connect=5.0, first_token=first_token, idle=idle)
        config = UpstreamConfig(base_url or scripted_upstream.base_url, None, timeouts)
        made.append(OpenAICompatProvider(config, trace_configs=hooks))
        return made[-1]

    yield make
    for provider in made:
        await provider.aclose()


def pending_watchdogs() -> int:
    """Watchdog timers still scheduled on the running loop (a cancelled handle drops its callback)."""
    scheduled: list[asyncio.TimerHandle] = asyncio.get_running_loop()._scheduled  # type: ignore[attr-defined]
    callbacks = [h._callback for h in scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    return sum(1 for cb in callbacks if getattr(cb, "__func__", None) is Watchdog._check)


async def run(
    provider: OpenAICompatProvider, req: ChatRequest
) -> tuple[list[ChatDelta], float, float | None]:
    """Consume the stream: its deltas, the seconds until the end (or error), and until the first delta."""
    loop = asyncio.get_running_loop()
    start, first = loop.time(), None
    deltas: list[ChatDelta] = []
    try:
        async for delta in provider.stream(req):
            first = loop.time() - start if first is None else first
            deltas.append(delta)
    finally:
        elapsed = loop.time() - start
    return deltas, elapsed, first


async def run_until_error(
    provider: OpenAICompatProvider, req: ChatRequest
) -> tuple[list[ChatDelta], float, float | None, UpstreamError]:
    loop = asyncio.get_running_loop()
    start, first = loop.time(), None
    deltas: list[ChatDelta] = []
    with pytest.raises(UpstreamError) as caught:
        async for delta in provider.stream(req):
            first = loop.time() - start if first is None else first
            deltas.append(delta)
    return deltas, loop.time() - start, first, caught.value


def assert_about(elapsed: float, seconds: float) -> None:
    assert seconds - 0.05 <= elapsed < seconds + LATE, elapsed


async def ended(upstream: ScriptedUpstream) -> str:
    return await asyncio.to_thread(upstream.received[-1].wait_ended, 3.0)


# -- connect ------------------------------------------------------------------------------------------


async def test_connect_timeout() -> None:
    timeouts = UpstreamTimeouts(connect=1.0, first_token=30.0, idle=30.0)
    with UnansweredPort() as port:
        provider = OpenAICompatProvider(UpstreamConfig(f"http://127.0.0.1:{port}/v1", None, timeouts))
        try:
            deltas, elapsed, _, error = await run_until_error(provider, chat())
        finally:
            await provider.aclose()

    assert (deltas, error.kind, error.message, error.status) == ([], "timeout", CONNECT, None)
    assert_about(elapsed, 1.0)
    assert pending_watchdogs() == 0


# -- first token --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "stream"),
    [
        (Script(text="never", stall_before_head=True), True),
        (Script(text="never", stall_before_head=True), False),
        (Script(text="never", stall_after_chunks=0), True),  # the head, then nothing
        (Script(text="never", stall_after_chunks=0), False),  # a JSON head, then no body
        (Script(text="never", stall_after_chunks=1), True),  # a role chunk (no delta), then nothing
        (Script(raw_events=[NO_DELTA] * 20, delay_s=0.3), True),  # chunks without a delta do not count
    ],
    ids=["before-head", "before-head-json", "after-head", "json-body", "after-role-chunk", "empty-chunks"],
)
async def test_first_token_timeout(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream, script: Script, stream: bool
) -> None:
    scripted_upstream.enqueue(script)

    deltas, elapsed, _, error = await run_until_error(adapter(first_token=1.0, idle=0.2), chat(stream=stream))

    assert (deltas, error.kind, error.message, error.status) == ([], "timeout", FIRST_TOKEN, None)
    assert_about(elapsed, 1.0)
    assert await ended(scripted_upstream) == "client_gone"
    assert pending_watchdogs() == 0


@pytest.mark.parametrize(
    "script",
    [Script(text=["late"], first_byte_delay_s=0.8), Script(text=["late"], delay_s=0.8)],
    ids=["late-head", "late-first-content-chunk"],
)
async def test_a_first_delta_within_the_bound_is_not_cut(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream, script: Script
) -> None:
    scripted_upstream.enqueue(script)

    deltas, _, first = await run(adapter(first_token=1.0, idle=1.0), chat())

    assert deltas[0] == TextDelta("late")
    assert first is not None and 0.75 <= first < 1.0
    assert FinishDelta("stop") in deltas


async def test_the_idle_bound_does_not_apply_before_the_first_delta(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=["late"], first_byte_delay_s=1.0))

    deltas, _, first = await run(adapter(first_token=3.0, idle=0.3), chat())

    assert deltas[0] == TextDelta("late")
    assert first is not None and first >= 1.0


# -- idle ---------------------------------------------------------------------------------------------


async def test_idle_timeout_after_some_text(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=["Hel", "lo", " world"], stall_after_chunks=3))

    deltas, elapsed, first, error = await run_until_error(adapter(first_token=30.0, idle=1.0), chat())

    assert deltas == [TextDelta("Hel"), TextDelta("lo")]
    assert (error.kind, error.message, error.status) == ("timeout", IDLE, None)
    assert first is not None
    assert_about(elapsed - first, 1.0)
    assert await ended(scripted_upstream) == "client_gone"
    assert pending_watchdogs() == 0


async def test_a_slow_but_steady_upstream_is_not_cut(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream
) -> None:
    words = [f"w{i} " for i in range(7)]  # a role chunk, 7 words, finish, usage, [DONE]: 3 s in all
    scripted_upstream.enqueue(Script(text=words, delay_s=0.3))

    deltas, elapsed, _ = await run(adapter(first_token=1.0, idle=1.0), chat())

    assert [d.text for d in deltas if isinstance(d, TextDelta)] == words
    assert elapsed >= 2.9
    assert await ended(scripted_upstream) == "completed"


async def test_a_slow_consumer_is_not_a_silent_upstream(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=["a", "b", "c"], delay_s=0.3))
    provider = adapter(first_token=5.0, idle=0.5)
    texts: list[str] = []

    async for delta in provider.stream(chat()):
        if isinstance(delta, TextDelta):
            texts.append(delta.text)
            await asyncio.sleep(1.2)  # the consumer holds the stream longer than the idle bound

    assert texts == ["a", "b", "c"]
    assert pending_watchdogs() == 0


# -- nothing leaks --------------------------------------------------------------------------------


async def test_closing_the_stream_early_cancels_the_watchdog(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(text=[f"t{i} " for i in range(50)], delay_s=0.05))
    deltas = adapter(first_token=0.5, idle=0.5).stream(chat())

    assert await anext(deltas) == TextDelta("t0 ")
    assert pending_watchdogs() == 1
    await deltas.aclose()

    assert pending_watchdogs() == 0
    assert await ended(scripted_upstream) == "client_gone"


@pytest.mark.parametrize("stream", [True, False])
async def test_a_finished_response_leaves_no_watchdog(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream, stream: bool
) -> None:
    scripted_upstream.enqueue(Script(text=["done"]))

    deltas, _, _ = await run(adapter(first_token=0.3, idle=0.3), chat(stream=stream))

    assert deltas[0] == TextDelta("done")
    assert pending_watchdogs() == 0
    await asyncio.sleep(0.5)  # past both bounds: nothing fires into a finished response


async def test_an_upstream_error_leaves_no_watchdog(
    adapter: AdapterFactory, scripted_upstream: ScriptedUpstream
) -> None:
    scripted_upstream.enqueue(Script(status=500))

    _, _, _, error = await run_until_error(adapter(first_token=0.3, idle=0.3), chat())

    assert (error.kind, error.status) == ("status", 500)
    assert pending_watchdogs() == 0
