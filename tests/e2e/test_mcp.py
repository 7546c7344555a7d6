"""Server-side MCP tools through Envoy with the `openai` SDK, against real MCP servers (issue 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI

from tests.e2e.exactness import check_sse
from tests.mcp_servers import TRANSPORTS, McpTestServer, free_port, toolbox_server
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream


@pytest.fixture(scope="module", params=TRANSPORTS)
def toolbox(request: pytest.FixtureRequest) -> Iterator[McpTestServer]:
    """The toolbox MCP server, over streamable HTTP and over SSE."""
    with McpTestServer(toolbox_server(), request.param) as server:
        yield server


def _mcp(server: McpTestServer, **extra: object) -> dict[str, object]:
    return {
        "type": "mcp",
        "server_label": "toolbox",
        "server_url": server.url,
        "require_approval": "never",
        **extra,
    }


def _call(name: str, args: str, call_id: str = "call_1") -> Script:
    return Script(tool_calls=[ScriptedToolCall(call_id, name, args)])


def test_the_loop_calls_a_tool_and_answers(
    client: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    upstream.enqueue(_call("add", '{"a": 2, "b": 3}'), Script(text="2 + 3 = 5"))
    events = list(client.responses.create(model="m", input="2+3?", tools=[_mcp(toolbox)], stream=True))
    types = [e.type for e in events]
    assert types.index("response.mcp_list_tools.completed") < types.index("response.mcp_call.in_progress")
    assert types.index("response.mcp_call.completed") < types.index("response.output_text.delta")
    final = events[-1].response
    assert [o.type for o in final.output] == ["mcp_list_tools", "mcp_call", "message"]
    listing, call, _ = final.output
    names = {t.name for t in listing.tools}
    assert {"add", "search", "plan_trip", "ping", "fail", "sleep", "lookup"} <= names
    assert (call.name, call.server_label, call.output, call.status) == ("add", "toolbox", "5", "completed")
    assert final.output_text == "2 + 3 = 5"
    offered = {t["function"]["name"]: t["function"]["parameters"] for t in upstream.requests[0]["tools"]}
    assert "$defs" in json.dumps(offered["plan_trip"]) and "$ref" in json.dumps(offered["plan_trip"])
    assert offered["search"]["properties"]["filters"]["type"] == "array"
    assert offered["ping"]["properties"] == {}
    fed_back = upstream.requests[1]["messages"]
    assert fed_back[-1]["role"] == "tool" and fed_back[-1]["content"] == "5"


def test_a_chain_of_three_reuses_the_listing(
    client: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    upstream.enqueue(Script(text="one"), _call("ping", "{}"), Script(text="pong it is"), Script(text="three"))
    first = client.responses.create(model="m", input="hi", tools=[_mcp(toolbox)])
    second = client.responses.create(
        model="m", input="ping", tools=[_mcp(toolbox)], previous_response_id=first.id
    )
    third = client.responses.create(
        model="m", input="bye", tools=[_mcp(toolbox)], previous_response_id=second.id
    )
    assert [o.type for o in first.output] == ["mcp_list_tools", "message"]
    assert [o.type for o in second.output] == ["mcp_call", "message"]
    assert [o.type for o in third.output] == ["message"]
    assert [t["function"]["name"] for t in upstream.requests[-1]["tools"]][:1]


def test_tool_errors_timeouts_and_bad_arguments_fail_the_call_not_the_response(
    client: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    upstream.enqueue(
        Script(
            tool_calls=[
                ScriptedToolCall("c1", "fail", "{}"),
                ScriptedToolCall("c2", "sleep", '{"seconds": 5}'),
            ]
        ),
        Script(text="both failed"),
    )
    r = client.responses.create(model="m", input="try", tools=[_mcp(toolbox)])
    calls = [o for o in r.output if o.type == "mcp_call"]
    assert [c.status for c in calls] == ["failed", "failed"]
    assert calls[0].error.type == "mcp_tool_execution_error"
    assert calls[1].error.type == "http_error" and "timed out" in calls[1].error.message.lower()
    assert r.status == "completed" and r.output_text == "both failed"
    results = [m["content"] for m in upstream.requests[1]["messages"] if m["role"] == "tool"]
    assert len(results) == 2 and all(c.startswith("Error:") for c in results)


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/mcp", "http://blocked.test/mcp", "not a url"])
def test_an_unreachable_or_blocked_server_is_a_failed_listing(
    http: httpx.Client, upstream: ScriptedUpstream, url: str
) -> None:
    upstream.enqueue(Script(text="no tools"))
    tool = {
        "type": "mcp",
        "server_label": "gone",
        "server_url": url.format(port=free_port()),
        "require_approval": "never",
    }
    if not tool["server_url"].startswith("http"):  # type: ignore[union-attr]
        reply = http.post("/responses", json={"model": "m", "input": "hi", "tools": [tool]})
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "tools[0].server_url"
        return
    events = check_sse(
        http.post("/responses", json={"model": "m", "input": "hi", "tools": [tool], "stream": True}).content
    )
    types = [e["type"] for e in events]
    assert "response.mcp_list_tools.failed" in types and types[-1] == "response.completed"
    listing = events[-1]["response"]["output"][0]  # type: ignore[index]
    assert listing["type"] == "mcp_list_tools" and listing["error"]


def test_approval_round_trip(client: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer) -> None:
    tool = _mcp(toolbox, require_approval={"always": {"tool_names": ["add"]}})
    upstream.enqueue(_call("add", '{"a": 20, "b": 22}'), Script(text="42"))
    first = client.responses.create(model="m", input="add", tools=[tool])
    request = first.output[-1]
    assert request.type == "mcp_approval_request" and request.name == "add"
    second = client.responses.create(
        model="m",
        tools=[tool],
        previous_response_id=first.id,
        input=[{"type": "mcp_approval_response", "approval_request_id": request.id, "approve": True}],
    )
    call = second.output[0]
    assert call.type == "mcp_call" and call.approval_request_id == request.id and call.output == "42"
    assert second.output_text == "42"
    with pytest.raises(Exception) as err:
        client.responses.create(
            model="m",
            tools=[tool],
            previous_response_id=second.id,
            input=[{"type": "mcp_approval_response", "approval_request_id": "mcpr_unknown", "approve": True}],
        )
    assert getattr(err.value, "status_code", None) == 400


def test_mcp_and_function_tools_in_one_request(
    client: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    fn = {"type": "function", "name": "notify", "parameters": {"type": "object", "properties": {}}}
    upstream.enqueue(
        Script(tool_calls=[ScriptedToolCall("c1", "ping", "{}"), ScriptedToolCall("c2", "notify", "{}")])
    )
    r = client.responses.create(model="m", input="ping and notify", tools=[_mcp(toolbox), fn])
    kinds = [o.type for o in r.output]
    assert kinds == ["mcp_list_tools", "function_call", "mcp_call"]
    assert r.output[2].output == "pong"
    assert len(upstream.requests) == 1


def test_headers_reach_the_server_and_are_never_echoed_or_stored(
    client: OpenAI, http: httpx.Client, upstream: ScriptedUpstream, toolbox: McpTestServer
) -> None:
    tool = _mcp(toolbox, headers={"X-Custom": "custom-secret"}, authorization="bearer-secret")
    upstream.enqueue(_call("echo_headers", "{}"), Script(text="seen"))
    r = client.responses.create(model="m", input="headers?", tools=[tool])
    seen = json.loads(r.output[1].output)
    assert seen == {"authorization": "Bearer bearer-secret", "x-custom": "custom-secret"}
    stored = http.get(f"/responses/{r.id}").text
    echoed = json.dumps(r.model_dump())
    for secret in ("custom-secret", "bearer-secret"):
        assert secret not in echoed.replace(r.output[1].output.replace('"', '\\"'), "")
        assert secret not in json.dumps(json.loads(stored)["tools"])


@pytest.mark.parametrize(
    ("allowed", "listed"),
    [(["add"], ["add"]), ({"tool_names": ["add", "lookup"], "read_only": True}, ["lookup"])],
    ids=["names", "filter"],
)
def test_the_listing_shows_only_what_allowed_tools_imports(
    client: OpenAI, upstream: ScriptedUpstream, toolbox: McpTestServer, allowed: object, listed: list[str]
) -> None:
    upstream.enqueue(Script(text="ok"), Script(text="again"))
    tool = _mcp(toolbox, allowed_tools=allowed)
    events = list(client.responses.create(model="m", input="hi", tools=[tool], stream=True))
    done = [
        e.item for e in events if e.type == "response.output_item.done" and e.item.type == "mcp_list_tools"
    ]
    assert [[t.name for t in item.tools] for item in done] == [listed]  # as OpenAI lists them
    first = events[-1].response
    assert [t.name for t in first.output[0].tools] == listed
    assert [t["function"]["name"] for t in upstream.requests[0]["tools"]] == listed
    # the stored listing, reused along the chain, offers the same tools
    stored = client.responses.retrieve(first.id)
    assert [t.name for t in stored.output[0].tools] == listed
    second = client.responses.create(model="m", input="more", tools=[tool], previous_response_id=first.id)
    assert [o.type for o in second.output] == ["message"]
    assert [t["function"]["name"] for t in upstream.requests[1]["tools"]] == listed
