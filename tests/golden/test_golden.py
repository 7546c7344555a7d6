"""Golden event sequences: each streamed scenario, run through the real core with a scripted
provider, a fake clock and sequential ids, must emit exactly the recorded events.

Update with `pytest tests/golden --update-golden` and review the diff.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.tools.mcp.contract import CallResult, ListedTool
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import (
    FakeClock,
    FakeMcpConnector,
    FakeMcpSession,
    InMemoryStore,
    ScriptedProvider,
    SequentialIds,
    mcp_kinds,
)

HERE = Path(__file__).parent
KB = {"type": "mcp", "server_label": "kb", "server_url": "https://kb.test/mcp"}
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}


def _call(index: int, call_id: str, args: list[str]) -> list[p.ChatDelta]:
    first = p.ToolCallDelta(index=index, id=call_id, name="get_weather", arguments="")
    return [first, *(p.ToolCallDelta(index=index, arguments=a) for a in args)]


SCENARIOS: dict[str, tuple[dict[str, object], list[Sequence[p.ChatDelta] | Exception]]] = {
    "text": (
        {"input": "hi", "instructions": "be brief"},
        [[p.TextDelta("Hel"), p.TextDelta("lo"), p.UsageDelta(5, 2), p.FinishDelta("stop")]],
    ),
    "function_calls": (
        {"input": "weather?", "tools": [WEATHER]},
        [
            [
                p.TextDelta("Checking."),
                *_call(0, "call_a", ['{"city":', '"Paris"}']),
                *_call(1, "call_b", ['{"city":"Oslo"}']),
                p.UsageDelta(9, 12),
                p.FinishDelta("tool_calls"),
            ]
        ],
    ),
    "forced_choice_retried": (
        {"input": "time?", "tools": [WEATHER], "tool_choice": "required"},
        [
            [p.TextDelta("no"), p.UsageDelta(4, 1), p.FinishDelta("stop")],
            [*_call(0, "call_c", ["{}"]), p.UsageDelta(4, 2), p.FinishDelta("tool_calls")],
        ],
    ),
    "refusal": (
        {"input": "bad"},
        [[p.RefusalDelta("I can't "), p.RefusalDelta("help."), p.FinishDelta("stop")]],
    ),
    "reasoning_then_text": (
        {"input": "think"},
        [[p.ReasoningDelta("Let me "), p.ReasoningDelta("think."), p.TextDelta("42"), p.FinishDelta("stop")]],
    ),
    "max_output_tokens": (
        {"input": "long", "max_output_tokens": 16},
        [[p.TextDelta("cut "), p.TextDelta("off"), p.UsageDelta(3, 16), p.FinishDelta("length")]],
    ),
    "logprobs": (
        {"input": "hi", "top_logprobs": 1, "include": ["message.output_text.logprobs"]},
        [
            [
                p.TextDelta(
                    "Hi", (p.TokenLogprob("Hi", -0.5, (72, 105), (p.TopLogprob("Hey", -1.0, (72,)),)),)
                ),
                p.FinishDelta("stop"),
            ]
        ],
    ),
    "mcp_loop": (
        {"input": "look it up", "tools": [{**KB, "require_approval": "never"}]},
        [
            [
                p.ToolCallDelta(0, "call_k", "lookup", '{"q":'),
                p.ToolCallDelta(0, arguments='"x"}'),
                p.FinishDelta("tool_calls"),
            ],
            [p.TextDelta("It is x."), p.FinishDelta("stop")],
        ],
    ),
    "mcp_approval_request": (
        {"input": "look it up", "tools": [KB]},
        [[p.ToolCallDelta(0, "call_k", "lookup", '{"q":"y"}'), p.FinishDelta("tool_calls")]],
    ),
    "upstream_fails_mid_stream": (
        {"input": "hi"},
        [[p.TextDelta("partial"), p.UpstreamError("protocol", "connection dropped")]],
    ),
}


async def _lookup(args: Mapping[str, object]) -> CallResult:
    return CallResult(text=f"found {args.get('q')}", content='[{"type":"text","text":"found"}]')


def _mcp() -> FakeMcpConnector:
    tool = ListedTool(
        name="lookup",
        description="Look up",
        input_schema='{"type":"object","properties":{"q":{"type":"string"}}}',
    )
    return FakeMcpConnector({"kb": FakeMcpSession([tool], {"lookup": _lookup})})


async def _events(body: dict[str, object], turns: list[Sequence[p.ChatDelta] | Exception]) -> list[object]:
    codec = OpenAIJson()
    provider = ScriptedProvider(*turns)
    deps = Deps(
        store=InMemoryStore(),
        providers=ProviderRegistry({"scripted": provider}, {}, "scripted"),
        clock=FakeClock(),
        ids=SequentialIds(),
        tools=mcp_kinds(_mcp()),
    )
    from rejoinder.responses.v1.responses_service_pb2 import CreateRequest

    run = await ResponsesCore(deps).start(codec.decode({"model": "m", **body}, CreateRequest))
    return [codec.encode(e) async for e in run.events()]


def _check_invariants(events: list[dict[str, object]]) -> None:
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    open_items: dict[int, str] = {}
    for e in events:
        if e["type"] == "response.output_item.added":
            open_items[int(e["output_index"])] = e["item"]["id"]  # type: ignore[index]
        if e["type"] == "response.output_item.done":
            assert open_items.pop(int(e["output_index"])) == e["item"]["id"]  # type: ignore[index]
    assert not open_items, "every output_item.added needs its output_item.done"
    terminal = [
        e for e in events if e["type"] in ("response.completed", "response.incomplete", "response.failed")
    ]
    assert len(terminal) == 1 and terminal[0] is events[-1]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_golden_sequence(name: str, request: pytest.FixtureRequest) -> None:
    body, turns = SCENARIOS[name]
    events = await _events(body, turns)
    _check_invariants(events)  # type: ignore[arg-type]
    path = HERE / f"{name}.jsonl"
    lines = "".join(json.dumps(e, sort_keys=True) + "\n" for e in events)
    if request.config.getoption("--update-golden"):
        path.write_text(lines)
    assert path.exists(), f"no golden file for {name}: run pytest tests/golden --update-golden"
    assert lines == path.read_text(), f"{name} differs from {path.name}; review, then --update-golden"
