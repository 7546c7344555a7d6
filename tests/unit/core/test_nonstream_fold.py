"""A non-stream response makes no per-delta events, yet it is exactly what the stream ends with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from rejoinder.core.responses import ResponsesCore, terminal_response
from rejoinder.core.run.deps import Deps
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, FakeMcpConnector, InMemoryStore, ScriptedProvider, SequentialIds, mcp_kinds
from tests.unit.core.test_loop import ADD, PING, SERVER, FakeMcpSession, _add, _ping

CODEC = OpenAIJson()
LOGPROB = p.TokenLogprob(token="Hi", logprob=-0.25, bytes=(72, 105))
FUNCTION = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}

CASES: dict[str, tuple[dict[str, Any], list[Sequence[p.ChatDelta]]]] = {
    "text-with-logprobs": (
        {"include": ["message.output_text.logprobs"], "top_logprobs": 0},
        [[p.TextDelta("Hi", (LOGPROB,)), p.TextDelta(" there"), p.UsageDelta(3, 2), p.FinishDelta("stop")]],
    ),
    "reasoning-then-text": (
        {"reasoning": {"effort": "low"}},
        [[p.ReasoningDelta("think"), p.ReasoningDelta(" more"), p.TextDelta("ok"), p.FinishDelta("stop")]],
    ),
    "refusal": ({}, [[p.RefusalDelta("I can"), p.RefusalDelta("not."), p.FinishDelta("stop")]]),
    "parallel-function-calls": (
        {"tools": [FUNCTION]},
        [
            [
                p.ToolCallDelta(index=0, id="call_a", name="lookup", arguments='{"q":'),
                p.ToolCallDelta(index=0, arguments='"a"}'),
                p.ToolCallDelta(index=1, id="call_b", name="lookup", arguments="{}"),
                p.FinishDelta("tool_calls"),
            ]
        ],
    ),
    "mcp-call-then-answer": (
        {"tools": [SERVER]},
        [
            [
                p.ToolCallDelta(index=0, id="c", name="add", arguments='{"a":1,"b":2}'),
                p.FinishDelta("tool_calls"),
            ],
            [p.TextDelta("3"), p.FinishDelta("stop")],
        ],
    ),
    "cut-by-max-output-tokens": (
        {"max_output_tokens": 16},
        [[p.TextDelta("a long"), p.TextDelta(" answer"), p.FinishDelta("length")]],
    ),
}


def _core(turns: list[Sequence[p.ChatDelta]]) -> ResponsesCore:
    session = FakeMcpSession([ADD, PING], {"add": _add, "ping": _ping})
    deps = Deps(
        store=InMemoryStore(),
        providers=ProviderRegistry({"s": ScriptedProvider(*turns)}, {}, "s"),
        clock=FakeClock(),
        ids=SequentialIds(),
        tools=mcp_kinds(FakeMcpConnector({"calc": session})),
    )
    return ResponsesCore(deps)


@pytest.mark.parametrize("case", list(CASES))
async def test_create_returns_what_the_stream_ends_with(case: str) -> None:
    body, turns = CASES[case]
    request = CODEC.decode({"model": "m", "input": "hi", **body}, CreateRequest)

    run = await _core(turns).start(request, stream=True)
    events = [event async for event in run.events()]
    streamed = terminal_response(events[-1])
    created = await _core(turns).create(request)

    assert streamed is not None and streamed.output, case
    assert CODEC.encode(created) == CODEC.encode(streamed)
