"""`SdkMcpConnector` against real MCP servers (tests/mcp_servers.py) over streamable HTTP and SSE."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from rejoinder.tools.mcp.client import SdkMcpConnector
from rejoinder.tools.mcp.contract import McpConnector, McpError, McpServerSpec, McpSession
from rejoinder.tools.mcp.policy import McpSettings, host_allowed, host_matches
from tests.mcp_servers import (
    McpServerFactory,
    McpTestServer,
    Transport,
    free_port,
    paged_server,
)

FAST = McpSettings(connect_timeout_s=1.0, call_timeout_s=0.5, list_timeout_s=1.0)


def connector(
    *,
    connect_timeout_s: float = 1.0,
    call_timeout_s: float = FAST.call_timeout_s,
    allow_hosts: tuple[str, ...] = (),
    deny_hosts: tuple[str, ...] = (),
) -> SdkMcpConnector:
    settings = replace(
        FAST,
        connect_timeout_s=connect_timeout_s,
        call_timeout_s=call_timeout_s,
        allow_hosts=allow_hosts,
        deny_hosts=deny_hosts,
    )
    return SdkMcpConnector(settings)


def spec(url: str, headers: dict[str, str] | None = None, authorization: str | None = None) -> McpServerSpec:
    return McpServerSpec("toolbox", url, headers=headers or {}, authorization=authorization)


async def connect_error(spec_: McpServerSpec, conn: McpConnector | None = None) -> McpError:
    with pytest.raises(McpError) as caught:
        async with (conn or connector()).connect(spec_):
            pytest.fail("connected")
    return caught.value


def other_tasks() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


# -- listing -------------------------------------------------------------------------------------


async def test_lists_tools_with_schemas_as_the_server_gave_them(mcp_server: McpTestServer) -> None:
    async with connector().connect(spec(mcp_server.url)) as session:
        tools = {tool.name: tool for tool in await session.list_tools()}
    assert set(tools) == {"add", "search", "plan_trip", "ping", "fail", "sleep", "lookup", "echo_headers"}
    assert tools["add"].description == "Add two integers."
    # byte for byte as on the wire: MCPServer puts "title" after "type" there
    assert tools["add"].input_schema == (
        '{"properties":{"a":{"title":"A","type":"integer"},"b":{"title":"B","type":"integer"}},'
        '"required":["a","b"],"type":"object","title":"addArguments"}'
    )


async def test_schema_shapes_survive(mcp_server: McpTestServer) -> None:
    async with connector().connect(spec(mcp_server.url)) as session:
        tools = {tool.name: tool for tool in await session.list_tools()}
    search = json.loads(tools["search"].input_schema)
    assert list(search["properties"]) == ["query", "filters"]  # server order, not sorted
    assert search["properties"]["filters"] == {
        "items": {"type": "string"},
        "title": "Filters",
        "type": "array",
    }
    trip = json.loads(tools["plan_trip"].input_schema)
    assert trip["properties"]["trip"] == {"$ref": "#/$defs/Trip"}
    assert trip["$defs"]["Trip"]["properties"]["origin"] == {"$ref": "#/$defs/Place"}
    assert set(trip["$defs"]) == {"Trip", "Place"}
    ping = json.loads(tools["ping"].input_schema)
    assert ping["type"] == "object"
    assert ping["properties"] == {}
    assert "required" not in ping


async def test_read_only_annotation(mcp_server: McpTestServer) -> None:
    async with connector().connect(spec(mcp_server.url)) as session:
        tools = {tool.name: tool for tool in await session.list_tools()}
    assert tools["lookup"].read_only is True
    assert json.loads(tools["lookup"].annotations or "null") == {"readOnlyHint": True}
    assert tools["add"].read_only is False
    assert tools["add"].annotations is None


async def test_listing_follows_cursors(mcp_server_factory: McpServerFactory) -> None:
    server = mcp_server_factory("streamable_http", server=paged_server())
    async with connector().connect(spec(server.url)) as session:
        tools = await session.list_tools()
        names = [tool.name for tool in tools]
        result = await session.call_tool("tool_4", {})
    assert names == [f"tool_{i}" for i in range(5)]
    # as on the wire: the SDK server moves "type" last; the nested order is the tool's own
    assert tools[0].input_schema == (
        '{"properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}},"required":["zeta"],"type":"object"}'
    )
    assert result.text == "tool_4"


async def test_json_rpc_error_is_a_protocol_error(mcp_server_factory: McpServerFactory) -> None:
    server = mcp_server_factory("streamable_http", server=paged_server())
    async with connector().connect(spec(server.url)) as session:
        with pytest.raises(McpError) as caught:
            await session.call_tool("explode", {})
        assert (await session.call_tool("tool_1", {})).text == "tool_1"
    assert (caught.value.kind, caught.value.code) == ("protocol", -32602)
    assert "explode: bad params" in caught.value.message


# -- calls ---------------------------------------------------------------------------------------


async def test_calls_tools(mcp_server: McpTestServer) -> None:
    async with connector().connect(spec(mcp_server.url)) as session:
        added = await session.call_tool("add", {"a": 1, "b": 2})
        found = await session.call_tool("search", {"query": "q", "filters": ["x", "y"]})
        trip = {"origin": {"city": "Paris"}, "destination": {"city": "Lyon"}, "travellers": 2}
        planned = await session.call_tool("plan_trip", {"trip": trip})
        pong = await session.call_tool("ping", {})
    assert (added.text, added.is_error) == ("3", False)
    assert json.loads(added.content) == [{"type": "text", "text": "3"}]
    assert found.text == "q: x, y"
    assert planned.text == "Paris -> Lyon x2"
    assert pong.text == "pong"


async def test_tool_error_is_a_result(mcp_server: McpTestServer) -> None:
    async with connector().connect(spec(mcp_server.url)) as session:
        failed = await session.call_tool("fail", {})
        unknown = await session.call_tool("no_such_tool", {})
    assert failed.is_error is True
    assert "the tool failed on purpose" in failed.text
    assert json.loads(failed.content)[0]["type"] == "text"
    assert unknown.is_error is True


async def test_hanging_tool_times_out_and_session_goes_on(mcp_server: McpTestServer) -> None:
    async with connector().connect(spec(mcp_server.url)) as session:
        started = time.monotonic()
        with pytest.raises(McpError) as caught:
            await session.call_tool("sleep", {"seconds": 5})
        elapsed = time.monotonic() - started
        assert (await session.call_tool("ping", {})).text == "pong"
    assert caught.value.kind == "timeout"
    assert "timed out after 0.5s" in caught.value.message
    assert 0.4 < elapsed < 1.5


async def test_cancelled_call_leaves_nothing_behind(mcp_server: McpTestServer) -> None:
    before = other_tasks()
    async with connector().connect(spec(mcp_server.url)) as session:
        call = asyncio.create_task(session.call_tool("sleep", {"seconds": 5}))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert (await session.call_tool("ping", {})).text == "pong"
    assert other_tasks() == before
    assert await mcp_server.wait_idle() == 0


async def test_calls_run_concurrently(mcp_server: McpTestServer) -> None:
    """Three 0.4 s calls at once take well under the 1.2 s they would one after another. (The server
    runs in this process, in a thread: the bounds leave room for a pause of either side, such as a
    garbage collection late in a long test session, which once timed a 0.2 s call out at 0.5 s.)"""
    async with connector(call_timeout_s=5.0).connect(spec(mcp_server.url)) as session:
        started = time.monotonic()
        results = await asyncio.gather(*(session.call_tool("sleep", {"seconds": 0.4}) for _ in range(3)))
    assert [r.text for r in results] == ["slept"] * 3
    assert time.monotonic() - started < 1.0


# -- headers -------------------------------------------------------------------------------------


async def test_headers_and_authorization_reach_the_server(mcp_server: McpTestServer) -> None:
    server = spec(mcp_server.url, headers={"X-Custom": "custom-value"}, authorization="tok-123")
    async with connector().connect(server) as session:
        echoed = json.loads((await session.call_tool("echo_headers", {})).text)
    assert echoed == {"authorization": "Bearer tok-123", "x-custom": "custom-value"}
    assert "tok-123" not in repr(server)
    assert "custom-value" not in repr(server)


async def test_authorization_replaces_an_authorization_header(mcp_server: McpTestServer) -> None:
    server = spec(mcp_server.url, headers={"authorization": "Basic old"}, authorization="new")
    async with connector().connect(server) as session:
        echoed = json.loads((await session.call_tool("echo_headers", {})).text)
    assert echoed["authorization"] == "Bearer new"


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_refused_authorization_is_an_http_error(
    mcp_server_factory: McpServerFactory, transport: Transport
) -> None:
    server = mcp_server_factory(transport, bearer="right")
    err = await connect_error(spec(server.url, authorization="wrong-token"))
    assert (err.kind, err.code) == ("http", 401)
    assert "wrong-token" not in err.message
    async with connector().connect(spec(server.url, authorization="right")) as session:
        assert (await session.call_tool("ping", {})).text == "pong"


# -- lifecycle -----------------------------------------------------------------------------------


async def test_exit_closes_session_and_streams(mcp_server: McpTestServer) -> None:
    before = other_tasks()
    async with connector().connect(spec(mcp_server.url)) as session:
        await session.list_tools()
        if mcp_server.transport == "sse":
            assert mcp_server.open_requests >= 1  # the event stream
    assert other_tasks() == before
    assert await mcp_server.wait_idle() == 0


async def test_error_in_body_still_closes(mcp_server: McpTestServer) -> None:
    before = other_tasks()
    with pytest.raises(RuntimeError, match="boom"):
        async with connector().connect(spec(mcp_server.url)) as session:
            await session.call_tool("ping", {})
            raise RuntimeError("boom")
    assert other_tasks() == before
    assert await mcp_server.wait_idle() == 0


async def test_cancelled_body_still_closes(mcp_server: McpTestServer) -> None:
    before = other_tasks()
    entered = asyncio.Event()

    async def use() -> None:
        async with connector().connect(spec(mcp_server.url)) as session:
            entered.set()
            await session.call_tool("sleep", {"seconds": 5})

    task = asyncio.create_task(use())
    await asyncio.wait_for(entered.wait(), 2)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert other_tasks() == before
    assert await mcp_server.wait_idle() == 0


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_server_dying_mid_call_is_an_error(
    mcp_server_factory: McpServerFactory, transport: Transport
) -> None:
    server = mcp_server_factory(transport)
    before = other_tasks()
    async with connector().connect(spec(server.url)) as session:
        call = asyncio.create_task(session.call_tool("sleep", {"seconds": 5}))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(server.kill)
        with pytest.raises(McpError) as during:
            await call
        with pytest.raises(McpError) as after:
            await session.call_tool("ping", {})
    assert during.value.kind in ("connect", "timeout")
    assert after.value.kind in ("connect", "timeout")
    assert other_tasks() == before


# -- connection failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/mcp", "/sse"])
async def test_nothing_listening_is_a_quick_connect_error(path: str) -> None:
    started = time.monotonic()
    err = await connect_error(spec(f"http://127.0.0.1:{free_port()}{path}"))
    assert err.kind == "connect"
    assert time.monotonic() - started < 1.0


async def test_unknown_host_is_a_connect_error() -> None:
    err = await connect_error(spec("http://no-such-host.invalid/mcp"))
    assert err.kind == "connect"


async def test_silent_server_times_out_at_connect(silent_port: int) -> None:
    started = time.monotonic()
    err = await connect_error(spec(f"http://127.0.0.1:{silent_port}/mcp"), connector(connect_timeout_s=0.5))
    assert err.kind == "timeout"
    assert time.monotonic() - started < 1.5


async def test_cancelled_while_connecting_leaves_nothing_behind(silent_port: int) -> None:
    before = other_tasks()

    async def use() -> None:
        async with connector(connect_timeout_s=5.0).connect(spec(f"http://127.0.0.1:{silent_port}/mcp")):
            pytest.fail("connected")

    task = asyncio.create_task(use())
    await asyncio.sleep(0.2)
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 0.5
    assert other_tasks() == before


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("nonsense", "connect"),
        ("http://", "connect"),
        ("http://[::1/mcp", "connect"),
        ("http://127.0.0.1:99999/mcp", "connect"),
        ("ftp://127.0.0.1/mcp", "blocked"),
        ("file:///etc/passwd", "blocked"),
        ("http://user:pw@127.0.0.1/mcp", "blocked"),
    ],
)
async def test_bad_urls(url: str, kind: str) -> None:
    err = await connect_error(spec(url))
    assert err.kind == kind


async def test_wrong_endpoint_is_an_http_error(mcp_server: McpTestServer) -> None:
    err = await connect_error(spec(f"http://127.0.0.1:{mcp_server.port}/nowhere"))
    assert (err.kind, err.code) == ("http", 404)


async def test_auto_falls_back_to_sse(mcp_server_factory: McpServerFactory) -> None:
    server = mcp_server_factory("sse", path="/events")
    async with connector().connect(spec(server.url)) as session:
        assert (await session.call_tool("ping", {})).text == "pong"


async def test_forced_transport_is_used(mcp_server_factory: McpServerFactory) -> None:
    server = mcp_server_factory("sse")
    conn = SdkMcpConnector(McpSettings(connect_timeout_s=1.0, transport="streamable_http"))
    err = await connect_error(spec(server.url), conn)
    assert (err.kind, err.code) == ("http", 405)


async def test_credentials_stay_out_of_errors() -> None:
    server = spec(
        f"http://127.0.0.1:{free_port()}/mcp", headers={"X-Api-Key": "key-abcdef"}, authorization="tok-secret"
    )
    err = await connect_error(server)
    assert "tok-secret" not in str(err)
    assert "key-abcdef" not in str(err)
    assert "toolbox" in err.message


# -- host policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "deny"),
    [((), ("127.0.0.1",)), (("*.example.com",), ()), (("127.0.0.1",), ("127.0.0.1",)), ((), ("*",))],
)
async def test_blocked_hosts_are_never_contacted(
    mcp_server: McpTestServer, allow: tuple[str, ...], deny: tuple[str, ...]
) -> None:
    seen = mcp_server.total_requests
    err = await connect_error(spec(mcp_server.url), connector(allow_hosts=allow, deny_hosts=deny))
    assert err.kind == "blocked"
    assert mcp_server.total_requests == seen


async def test_allowed_host_connects(mcp_server: McpTestServer) -> None:
    conn = connector(allow_hosts=("127.0.0.1",), deny_hosts=("*.example.com",))
    session: McpSession
    async with conn.connect(spec(mcp_server.url)) as session:
        assert (await session.call_tool("ping", {})).text == "pong"


def test_host_patterns() -> None:
    assert host_matches("api.example.com", "*.example.com")
    assert host_matches("a.b.example.com", "*.EXAMPLE.com")
    assert not host_matches("example.com", "*.example.com")
    assert not host_matches("badexample.com", "*.example.com")
    assert host_matches("Example.COM.", "example.com")
    assert host_matches("::1", "[::1]")
    settings = McpSettings(allow_hosts=("*.example.com",), deny_hosts=("evil.example.com",))
    assert host_allowed("ok.example.com", settings)
    assert not host_allowed("evil.example.com", settings)
    assert not host_allowed("other.org", settings)
    assert host_allowed("anything.org", McpSettings())
