"""A stream's opening events are made while the upstream's first delta is awaited, not after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence

from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, InMemoryStore, ScriptedProvider, SequentialIds

CODEC = OpenAIJson()
TURN = [p.TextDelta("Hi"), p.TextDelta(" there"), p.FinishDelta("stop")]


class GatedProvider(ScriptedProvider):
    """Answers only once `gate` is set: an upstream still working on its first token."""

    def __init__(self, gate: asyncio.Event, *turns: Sequence[p.ChatDelta]) -> None:
        super().__init__(*turns)
        self._gate = gate

    async def stream(self, req: p.ChatRequest) -> AsyncGenerator[p.ChatDelta, None]:
        await self._gate.wait()
        async for delta in super().stream(req):
            yield delta


def _core(provider: p.Provider) -> ResponsesCore:
    deps = Deps(
        store=InMemoryStore(),
        providers=ProviderRegistry({"s": provider}, {}, "s"),
        clock=FakeClock(),
        ids=SequentialIds(),
    )
    return ResponsesCore(deps)


async def test_the_opening_events_are_told_while_the_upstream_works_and_then_sent_as_they_were() -> None:
    gate = asyncio.Event()
    told: list[ResponseStreamEvent] = []
    request = CODEC.decode({"model": "m", "input": "hi", "stream": True}, CreateRequest)

    starting = asyncio.ensure_future(_core(GatedProvider(gate, TURN)).start(request, opening=told.extend))
    for _ in range(100):
        if told:
            break
        await asyncio.sleep(0)
    assert [e.WhichOneof("event") for e in told] == ["response_created", "response_in_progress"]
    assert not starting.done(), "told before the upstream's first delta"

    gate.set()
    run = await starting
    events = [event async for event in run.events()]
    assert events[0] is told[0] and events[1] is told[1]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].response_created.response.status == "in_progress"
    assert (
        CODEC.encode(events[-1].response_completed.response)["output"][0]["content"][0]["text"] == "Hi there"
    )  # type: ignore[index, call-overload]


async def test_without_a_wait_for_the_upstream_the_opening_events_are_made_with_the_rest() -> None:
    told: list[ResponseStreamEvent] = []
    request = CODEC.decode({"model": "m", "input": "hi", "stream": True}, CreateRequest)

    run = await _core(ScriptedProvider(TURN)).start(request, opening=told.extend)
    events = [event async for event in run.events()]

    assert told == []
    assert [e.WhichOneof("event") for e in events[:2]] == ["response_created", "response_in_progress"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
