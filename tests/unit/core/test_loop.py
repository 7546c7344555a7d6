"""The agentic loop through the real core, with a scripted model and in-memory MCP servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pytest

from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.errors import ApiError
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.tools.mcp.contract import CallResult, ListedTool, McpError
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

CODEC = OpenAIJson()
ADD = ListedTool(
    name="add",
    description="Add two numbers",
    input_schema='{"type":"object","properties":{"b":{"type":"integer"},"a":{"type":"integer"}}}',
)
PING = ListedTool(
    name="ping", description=None, input_schema='{"type":"object","properties":{}}', read_only=True
)
SERVER = {
    "type": "mcp",
    "server_label": "calc",
    "server_url": "https://calc.test/mcp",
    "require_approval": "never",
}


def _text(value: str) -> CallResult:
    return CallResult(text=value, content=orjson.dumps([{"type": "text", "text": value}]).decode())


async def _add(args: Mapping[str, object]) -> CallResult:
    await asyncio.sleep(0.2)
    return _text(str(int(args["a"]) + int(args["b"])))  # type: ignore[call-overload]


async def _ping(args: Mapping[str, object]) -> CallResult:
    return CallResult(text="boom", content='[{"type":"text","text":"boom"}]', is_error=True)


def _call(index: int, name: str, args: str, call_id: str = "") -> p.ToolCallDelta:
    return p.ToolCallDelta(index=index, id=call_id or f"call_{index}", name=name, arguments=args)


class World:
    """A core with one scripted model and one in-memory MCP server, shared by a test's requests."""

    def __init__(self, *turns: Sequence[p.ChatDelta] | Exception, list_error: McpError | None = None) -> None:
        self.provider = ScriptedProvider(*turns)
        self.session = FakeMcpSession([ADD, PING], {"add": _add, "ping": _ping}, list_error)
        self.mcp = FakeMcpConnector({"calc": self.session})
        self.store = InMemoryStore()
        deps = Deps(
            store=self.store,
            providers=ProviderRegistry({"s": self.provider}, {}, "s"),
            clock=FakeClock(),
            ids=SequentialIds(),
            tools=mcp_kinds(self.mcp),
        )
        self.core = ResponsesCore(deps)

    def script(self, *turns: Sequence[p.ChatDelta] | Exception) -> None:
        self.provider._turns.extend(turns)

    async def events(self, **body: Any) -> list[dict[str, Any]]:
        """The events of one response, which must end `response.completed` and be stored."""
        run = await self.core.start(CODEC.decode({"model": "m", **body}, CreateRequest))
        events: list[dict[str, Any]] = [CODEC.encode(e) async for e in run.events()]  # type: ignore[misc]
        assert events[-1]["type"] == "response.completed", events[-1]
        assert await self.store.get(events[-1]["response"]["id"]) is not None
        return events


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_the_loop_lists_calls_and_answers() -> None:
    w = World(
        [_call(0, "add", '{"a":1,"b":2}'), p.FinishDelta("tool_calls")],
        [p.TextDelta("3"), p.FinishDelta("stop")],
    )
    events = await w.events(input="1+2?", tools=[SERVER])
    types = _types(events)
    assert types[2:6] == [
        "response.output_item.added",
        "response.mcp_list_tools.in_progress",
        "response.mcp_list_tools.completed",
        "response.output_item.done",
    ]
    assert types[6:12] == [
        "response.output_item.added",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.output_item.done",
    ]
    final = events[-1]["response"]
    assert [o["type"] for o in final["output"]] == ["mcp_list_tools", "mcp_call", "message"]
    listing, call, _ = final["output"]
    assert [t["name"] for t in listing["tools"]] == ["add", "ping"]
    assert list(listing["tools"][0]["input_schema"]["properties"]) == ["b", "a"]
    assert (call["name"], call["arguments"], call["output"], call["status"]) == (
        "add",
        '{"a":1,"b":2}',
        "3",
        "completed",
    )
    second = w.provider.requests[1]
    assert [t.name for t in second.tools] == ["add", "ping"]
    assert second.messages[-2].tool_calls[0].name == "add"
    assert second.messages[-1].role == "tool" and second.messages[-1].content == "3"
    assert w.mcp.closed == len(w.mcp.opened) == 1


async def test_a_later_turn_reuses_the_listing() -> None:
    w = World([p.TextDelta("hi"), p.FinishDelta("stop")])
    first = await w.events(input="hi", tools=[SERVER])
    w.script([_call(0, "add", '{"a":2,"b":2}')], [p.TextDelta("4")])
    second = await w.events(input="2+2", tools=[SERVER], previous_response_id=first[-1]["response"]["id"])
    assert "response.mcp_list_tools.in_progress" not in _types(second)
    assert [o["type"] for o in second[-1]["response"]["output"]] == ["mcp_call", "message"]
    assert w.session.lists == 1


async def test_calls_of_one_turn_run_concurrently() -> None:
    w = World(
        [
            _call(0, "add", '{"a":1,"b":1}'),
            _call(1, "add", '{"a":2,"b":2}'),
            _call(2, "add", '{"a":3,"b":3}'),
        ],
        [p.TextDelta("done")],
    )
    started = time.monotonic()
    events = await w.events(input="sums", tools=[SERVER])
    assert time.monotonic() - started < 0.5, "three 0.2 s calls must overlap"
    outputs = [o.get("output") for o in events[-1]["response"]["output"] if o["type"] == "mcp_call"]
    assert outputs == ["2", "4", "6"]


async def test_a_tool_error_is_reported_and_fed_back() -> None:
    w = World([_call(0, "ping", "{}")], [p.TextDelta("the tool failed")])
    events = await w.events(input="ping", tools=[SERVER])
    assert "response.mcp_call.failed" in _types(events)
    call = events[-1]["response"]["output"][1]
    assert call["status"] == "failed"
    assert call["error"] == {
        "type": "mcp_tool_execution_error",
        "content": [{"type": "text", "text": "boom"}],
    }
    assert w.provider.requests[1].messages[-1].content.startswith("Error:")


async def test_a_failed_listing_is_an_item_and_the_response_goes_on() -> None:
    w = World([p.TextDelta("no tools today")], list_error=McpError("connect", "connection refused"))
    events = await w.events(input="hi", tools=[SERVER])
    assert "response.mcp_list_tools.failed" in _types(events)
    final = events[-1]["response"]
    assert final["status"] == "completed"
    assert final["output"][0]["error"] == "connection refused"
    assert w.provider.requests[0].tools == ()


async def test_approval_round_trip() -> None:
    server = {**SERVER, "require_approval": "always"}
    w = World([_call(0, "add", '{"a":5,"b":5}')])
    first = await w.events(input="5+5", tools=[server])
    final = first[-1]["response"]
    request = final["output"][-1]
    assert request["type"] == "mcp_approval_request" and request["name"] == "add"
    assert w.session.calls == [] and len(w.provider.requests) == 1
    w.script([p.TextDelta("10")])
    answer = {"type": "mcp_approval_response", "approval_request_id": request["id"], "approve": True}
    second = await w.events(input=[answer], tools=[server], previous_response_id=final["id"])
    call = second[-1]["response"]["output"][0]
    assert (
        call["type"] == "mcp_call" and call["approval_request_id"] == request["id"] and call["output"] == "10"
    )
    assert w.session.calls == [("add", {"a": 5, "b": 5})]


async def test_a_denied_call_is_not_run_and_the_model_is_told() -> None:
    server = {**SERVER, "require_approval": {"always": {"tool_names": ["add"]}}}
    w = World([_call(0, "add", '{"a":5,"b":5}')])
    first = await w.events(input="5+5", tools=[server])
    request = first[-1]["response"]["output"][-1]
    w.script([p.TextDelta("ok, I won't")])
    answer = {
        "type": "mcp_approval_response",
        "approval_request_id": request["id"],
        "approve": False,
        "reason": "no",
    }
    await w.events(input=[answer], tools=[server], previous_response_id=first[-1]["response"]["id"])
    assert w.session.calls == []
    told = w.provider.requests[-1].messages[-1]
    assert told.role == "tool" and "declined" in str(told.content) and "no" in str(told.content)


async def test_an_unknown_approval_is_a_400() -> None:
    w = World()
    answer = {"type": "mcp_approval_response", "approval_request_id": "mcpr_nope", "approve": True}
    with pytest.raises(ApiError) as err:
        await w.events(input=[answer], tools=[SERVER])
    assert err.value.code == "approval_request_not_found"


async def test_function_calls_end_the_loop_after_the_mcp_calls_of_the_turn() -> None:
    fn = {"type": "function", "name": "notify", "parameters": {"type": "object", "properties": {}}}
    w = World([_call(0, "add", '{"a":1,"b":1}'), _call(1, "notify", "{}")])
    events = await w.events(input="add then notify", tools=[SERVER, fn])
    kinds = [o["type"] for o in events[-1]["response"]["output"]]
    assert kinds == ["mcp_list_tools", "function_call", "mcp_call"]
    assert len(w.provider.requests) == 1


async def test_max_tool_calls_stops_the_loop() -> None:
    w = World([_call(0, "add", '{"a":1,"b":1}')], [_call(0, "add", '{"a":2,"b":2}')])
    events = await w.events(input="keep adding", tools=[SERVER], max_tool_calls=1)
    calls = [o for o in events[-1]["response"]["output"] if o["type"] == "mcp_call"]
    assert len(calls) == 1 and len(w.provider.requests) == 1


async def test_credentials_reach_the_server_but_are_never_echoed() -> None:
    server = {**SERVER, "headers": {"X-Key": "s3cret"}, "authorization": "tok"}
    w = World([p.TextDelta("hi")])
    events = await w.events(input="hi", tools=[server])
    assert w.mcp.opened[0].headers == {"X-Key": "s3cret"} and w.mcp.opened[0].authorization == "tok"
    dumped = orjson.dumps(events).decode()
    assert "s3cret" not in dumped and "tok" not in dumped.replace("tokens", "")
    stored = await w.store.get(events[-1]["response"]["id"])
    assert stored is not None and "s3cret" not in str(stored) and "authorization" not in str(stored.tools[0])


async def test_a_call_of_a_tool_that_does_not_exist_is_fed_back_not_fatal() -> None:
    w = World([_call(0, "teleport", '{"to":"mars"}')], [p.TextDelta("sorry, no teleport")])
    events = await w.events(input="go to mars", tools=[SERVER])
    final = events[-1]["response"]
    assert [o["type"] for o in final["output"]] == ["mcp_list_tools", "message"]
    told = w.provider.requests[1].messages
    assert told[-2].tool_calls[0].name == "teleport"
    assert told[-1].role == "tool" and "There is no tool named 'teleport'" in str(told[-1].content)
    assert "add" in str(told[-1].content)


@pytest.mark.parametrize(
    ("allowed", "offered"),
    [
        (["add"], ["add"]),
        ({"read_only": True}, ["ping"]),
        ({"tool_names": ["ping", "add"]}, ["add", "ping"]),
        ({"tool_names": ["ping", "add"], "read_only": False}, ["add"]),
        ({"tool_names": ["nope"]}, []),
    ],
)
async def test_allowed_tools_filter_what_the_model_sees(allowed: object, offered: list[str]) -> None:
    w = World([p.TextDelta("ok")])
    events = await w.events(input="hi", tools=[{**SERVER, "allowed_tools": allowed}])
    assert [t.name for t in w.provider.requests[0].tools] == offered
    listing = events[-1]["response"]["output"][0]
    assert [t["name"] for t in listing["tools"]] == offered, "the listing shows what allowed_tools imports"
