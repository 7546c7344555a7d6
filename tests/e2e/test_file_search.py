"""The file_search tool end to end: files uploaded and ingested into a vector store with the `openai` SDK
through Envoy, then `responses.create` with `tools=[{"type": "file_search", ...}]`, the model's calls
scripted upstream; on SQLite and PostgreSQL, and over typed gRPC."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.responses import ResponseFileSearchToolCall, ResponseIncludable, ResponseOutputMessage

from rejoinder_client.rejoinder.responses.v1 import (
    CreateRequest,
    FileSearchTool,
    GetRequest,
    Input,
    ResponsesServiceStub,
    Tool,
)
from tests.e2e.exactness import CapturingTransport, check
from tests.e2e.prometheus import Moved, scrape
from tests.e2e.service_process import ServiceProcess
from tests.e2e.tenant_service import tenant_service
from tests.mcp_servers import McpTestServer, toolbox_server
from tests.scripted_upstream import Script, ScriptedToolCall, ScriptedUpstream

ACME = "sk-acme-search-0001"
GLOBEX = "sk-globex-search-0002"
RESULTS: ResponseIncludable = "file_search_call.results"
DOCS = {
    "rockets.md": "# Rockets\n\nThe launcher burns liquid oxygen and kerosene in its first stage. Its "
    "engines lift the payload to low Earth orbit, where the second stage separates.",
    "bread.txt": "Sourdough bread rises with wild yeast and lactic acid bacteria. Bakers feed the starter "
    "with flour and water every day and bake the loaves in a hot oven.",
}
QUESTION = "What propellant does the launcher burn?"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fs_service(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    e2e_upstream: ScriptedUpstream,
    postgres_admin_dsn: str,
) -> Iterator[ServiceProcess]:
    """A keyed service (two tenants) on each store; embeddings by the embedded model."""
    data = tmp_path_factory.mktemp(f"file-search-{request.param}")
    keys = {"acme": ACME, "globex": GLOBEX}
    yield from tenant_service(
        request.param,
        data,
        e2e_upstream,
        postgres_admin_dsn,
        keys,
        '\n[models."m"]\nprovider = "scripted"\nmodel = "scripted-model"\n',
    )


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    capturing = CapturingTransport()
    yield capturing
    for capture in capturing.captures:
        check(capture)


def _sdk(service: ServiceProcess, key: str, transport: CapturingTransport) -> OpenAI:
    http = httpx.Client(transport=transport, timeout=60)
    return OpenAI(base_url=service.base_url, api_key=key, http_client=http, max_retries=0)


@pytest.fixture
def acme(fs_service: ServiceProcess, transport: CapturingTransport) -> OpenAI:
    return _sdk(fs_service, ACME, transport)


@pytest.fixture(scope="module")
def store_id(fs_service: ServiceProcess) -> str:
    """A vector store of acme's with both documents, ingested."""
    client = _sdk(fs_service, ACME, CapturingTransport())
    ids = [client.files.create(file=(n, t.encode()), purpose="assistants").id for n, t in DOCS.items()]
    store = client.vector_stores.create(name="docs", file_ids=ids)
    deadline = time.monotonic() + 60
    while client.vector_stores.retrieve(store.id).file_counts.in_progress and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 2
    return store.id


def _search_call(queries: list[str], call_id: str = "c1") -> ScriptedToolCall:
    return ScriptedToolCall(call_id, "file_search", json.dumps({"queries": queries}))


def _tool(store: str, **extra: object) -> Any:
    return {"type": "file_search", "vector_store_ids": [store], **extra}


def _told(request: dict[str, Any]) -> str:
    """What the model was told by the tool on this upstream request."""
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "tool")


def test_a_streamed_search_with_results_included(
    acme: OpenAI, upstream: ScriptedUpstream, store_id: str
) -> None:
    upstream.enqueue(
        Script(tool_calls=[_search_call([QUESTION, "rocket fuel"])]),
        Script(text="It burns liquid oxygen and kerosene [1]."),
    )
    events: list[Any] = list(
        acme.responses.create(
            model="m", input=QUESTION, tools=[_tool(store_id)], include=[RESULTS], stream=True
        )
    )

    types = [e.type for e in events]
    start = types.index("response.output_item.added")
    assert types[start : start + 5] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    search, answer = final.output
    assert isinstance(search, ResponseFileSearchToolCall) and isinstance(answer, ResponseOutputMessage)
    assert search.id.startswith("fs_") and search.status == "completed"
    assert search.queries == [QUESTION, "rocket fuel"]
    assert search.results is not None and search.results[0].filename == "rockets.md"
    assert "liquid oxygen" in (search.results[0].text or "") and 0 < (search.results[0].score or 0) <= 1
    rockets = search.results[0].file_id
    text = answer.content[0]
    assert text.type == "output_text" and text.text == "It burns liquid oxygen and kerosene [1]."
    assert [(a.type, a.file_id, a.filename, a.index) for a in text.annotations] == [  # type: ignore[union-attr]
        ("file_citation", rockets, "rockets.md", text.text.index("[1]"))
    ]
    offered = upstream.requests[0]["tools"]
    assert [t["function"]["name"] for t in offered] == ["file_search"]
    told = _told(upstream.requests[1])
    assert f"[1] rockets.md (file {rockets})" in told and "liquid oxygen and kerosene" in told


def test_results_only_with_include_and_a_later_retrieve_can_ask(
    acme: OpenAI, upstream: ScriptedUpstream, store_id: str
) -> None:
    upstream.enqueue(Script(tool_calls=[_search_call(["sourdough starter"])]), Script(text="Wild yeast."))
    made = acme.responses.create(model="m", input="How does sourdough rise?", tools=[_tool(store_id)])

    search = made.output[0]
    assert isinstance(search, ResponseFileSearchToolCall)
    assert (search.status, search.queries, search.results) == ("completed", ["sourdough starter"], None)
    answer = made.output[1]
    assert isinstance(answer, ResponseOutputMessage)
    cited = [a.filename for a in answer.content[0].annotations]  # type: ignore[union-attr]
    assert cited and cited[0] == "bread.txt"  # no marker: the files found, cited at the end
    assert acme.responses.retrieve(made.id).output[0].results is None  # type: ignore[union-attr]
    again = acme.responses.retrieve(made.id, include=[RESULTS]).output[0]
    assert isinstance(again, ResponseFileSearchToolCall) and again.results
    assert again.results[0].filename == "bread.txt"


def _search_results(lines: Iterator[str]) -> dict[str, object]:
    """The `results` of the file_search_call item in a stream's `response.output_item.done` and
    `response.completed` payloads, by event type."""
    found: dict[str, object] = {}
    for line in lines:
        if not line.startswith("data: {"):
            continue
        data = json.loads(line[len("data: ") :])
        if data["type"] == "response.output_item.done" and data["item"]["type"] == "file_search_call":
            found[data["type"]] = data["item"]["results"]
        elif data["type"] == "response.completed":
            found[data["type"]] = data["response"]["output"][0]["results"]
    return found


def test_a_search_that_finds_nothing_shows_an_empty_list_when_included(
    acme: OpenAI, upstream: ScriptedUpstream, store_id: str
) -> None:
    nothing = _tool(store_id, filters={"type": "eq", "key": "topic", "value": "no such topic"})
    script = (Script(tool_calls=[_search_call(["kerosene"])]), Script(text="Nothing found."))
    upstream.enqueue(*script)
    raw = acme.responses.with_raw_response.create(
        model="m", input=QUESTION, tools=[nothing], include=[RESULTS]
    )
    made = raw.http_response.json()
    assert made["output"][0]["type"] == "file_search_call" and made["output"][0]["status"] == "completed"
    assert made["output"][0]["results"] == []
    included = acme.responses.with_raw_response.retrieve(made["id"], include=[RESULTS]).http_response.json()
    assert included["output"][0]["results"] == []
    withheld = acme.responses.with_raw_response.retrieve(made["id"]).http_response.json()
    assert withheld["output"][0]["results"] is None

    upstream.enqueue(*script)
    with acme.responses.with_streaming_response.create(
        model="m", input=QUESTION, tools=[nothing], include=[RESULTS], stream=True
    ) as streamed:
        shown = _search_results(streamed.iter_lines())
    assert shown == {"response.output_item.done": [], "response.completed": []}

    upstream.enqueue(*script)
    plain = acme.responses.with_raw_response.create(model="m", input=QUESTION, tools=[nothing]).http_response
    assert plain.json()["output"][0]["results"] is None
    upstream.enqueue(*script)
    with acme.responses.with_streaming_response.create(
        model="m", input=QUESTION, tools=[nothing], stream=True
    ) as streamed:
        withheld = _search_results(streamed.iter_lines())
    assert withheld == {"response.output_item.done": None, "response.completed": None}


def test_later_turns_read_the_search_by_previous_response_and_conversation(
    acme: OpenAI, upstream: ScriptedUpstream, store_id: str
) -> None:
    upstream.enqueue(
        Script(tool_calls=[_search_call(["launcher propellant"])]),
        Script(text="Kerosene [1]."),
        Script(text="Yes, kerosene [1]."),
    )
    first = acme.responses.create(model="m", input=QUESTION, tools=[_tool(store_id)])
    second = acme.responses.create(
        model="m", input="Are you sure?", previous_response_id=first.id, tools=[_tool(store_id)]
    )
    assert "liquid oxygen and kerosene" in _told(upstream.requests[2])
    answer = second.output[0]
    assert isinstance(answer, ResponseOutputMessage)
    assert [a.filename for a in answer.content[0].annotations] == ["rockets.md"]  # type: ignore[union-attr]

    upstream.reset()
    conversation = acme.conversations.create()
    upstream.enqueue(
        Script(tool_calls=[_search_call(["bread"])]), Script(text="Sourdough."), Script(text="Again.")
    )
    acme.responses.create(model="m", input="Bread?", conversation=conversation.id, tools=[_tool(store_id)])
    acme.responses.create(model="m", input="And again?", conversation=conversation.id)
    assert "Sourdough bread rises with wild yeast" in _told(upstream.requests[2])
    kinds = [i.type for i in acme.conversations.items.list(conversation.id, order="asc").data]
    assert kinds[:3] == ["message", "file_search_call", "message"]


def test_beside_function_and_mcp_tools_in_one_response_and_measured(
    acme: OpenAI, upstream: ScriptedUpstream, store_id: str, fs_service: ServiceProcess
) -> None:
    notify = {"type": "function", "name": "notify", "parameters": {"type": "object", "properties": {}}}
    upstream.enqueue(
        Script(tool_calls=[_search_call(["oven"]), ScriptedToolCall("c2", "ping", "{}")]),
        Script(tool_calls=[ScriptedToolCall("c3", "notify", "{}")]),
    )
    before = scrape(fs_service.metrics_url)
    with McpTestServer(toolbox_server(), "streamable_http") as toolbox:
        mcp = {
            "type": "mcp",
            "server_label": "toolbox",
            "server_url": toolbox.url,
            "require_approval": "never",
        }
        made = acme.responses.create(
            model="m",
            input="Search, ping, notify",
            tools=[_tool(store_id, max_num_results=1), mcp, notify],  # type: ignore[list-item]
            include=[RESULTS],
        )
    assert [o.type for o in made.output] == [
        "mcp_list_tools",
        "file_search_call",
        "mcp_call",
        "function_call",
    ]
    assert len(made.output[1].results or []) == 1  # type: ignore[union-attr]
    assert made.output[2].output == "pong"  # type: ignore[union-attr]
    assert "[1] bread.txt" in _told(upstream.requests[1]) and "pong" in _told(upstream.requests[1])
    moved = Moved(before, scrape(fs_service.metrics_url))
    assert moved("rejoinder_tool_calls_total", tool="file_search_call", server_label="", outcome="ok") == 1
    assert moved("rejoinder_tool_calls_total", tool="mcp_call", server_label="toolbox", outcome="ok") == 1


def test_tool_choice_forces_the_first_search_and_max_tool_calls_caps_them(
    acme: OpenAI, upstream: ScriptedUpstream, store_id: str
) -> None:
    upstream.enqueue(Script(tool_calls=[_search_call(["oven"])]), Script(text="Hot oven [1]."))
    made = acme.responses.create(
        model="m", input="Ovens?", tools=[_tool(store_id)], tool_choice={"type": "file_search"}
    )
    assert made.tool_choice.type == "file_search"  # type: ignore[union-attr]
    assert [o.type for o in made.output] == ["file_search_call", "message"]
    assert upstream.requests[0]["tool_choice"] == {"type": "function", "function": {"name": "file_search"}}
    assert upstream.requests[1].get("tool_choice") in (None, "auto")

    upstream.reset()
    upstream.enqueue(
        Script(tool_calls=[_search_call(["oven"], "c1"), _search_call(["yeast"], "c2")]), Script(text="x")
    )
    capped = acme.responses.create(model="m", input="Ovens?", tools=[_tool(store_id)], max_tool_calls=1)
    assert [o.type for o in capped.output] == ["file_search_call"]
    assert capped.output[0].queries == ["oven"]  # type: ignore[union-attr]


def test_background_search(acme: OpenAI, upstream: ScriptedUpstream, store_id: str) -> None:
    upstream.enqueue(Script(tool_calls=[_search_call(["kerosene"])]), Script(text="Kerosene."))
    queued = acme.responses.create(model="m", input=QUESTION, tools=[_tool(store_id)], background=True)
    deadline = time.monotonic() + 30
    done = acme.responses.retrieve(queued.id)
    while done.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.1)
        done = acme.responses.retrieve(queued.id)
    assert done.status == "completed"
    assert [o.type for o in done.output] == ["file_search_call", "message"]


def test_bad_tools_and_stores_of_others_are_refused_before_anything_runs(
    acme: OpenAI,
    fs_service: ServiceProcess,
    transport: CapturingTransport,
    upstream: ScriptedUpstream,
    store_id: str,
) -> None:
    globex = _sdk(fs_service, GLOBEX, transport)
    with pytest.raises(openai.NotFoundError) as theirs:
        globex.responses.create(model="m", input="hi", tools=[_tool(store_id)])
    assert theirs.value.body["param"] == "tools[0].vector_store_ids[0]"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        acme.responses.create(model="m", input="hi", tools=[_tool("vs_nope")], stream=True)
    bad = [
        (_tool(store_id, max_num_results=51), "tools[0].max_num_results"),
        ({"type": "file_search", "vector_store_ids": []}, "tools[0].vector_store_ids"),
        (_tool(store_id, ranking_options={"score_threshold": 2}), "tools[0].ranking_options.score_threshold"),
        (_tool(store_id, filters={"type": "eq", "key": "k"}), "tools[0].filters.value"),
    ]
    for tool, param in bad:
        with pytest.raises(openai.BadRequestError) as err:
            acme.responses.create(model="m", input="hi", tools=[tool])
        assert err.value.body["param"] == param, tool  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as err:
        acme.responses.create(
            model="m",
            input=[{"type": "file_search_call", "queries": ["q"], "status": "completed"}],  # type: ignore[list-item]
        )
    assert err.value.body["param"] == "input[0].id"  # type: ignore[index]
    assert upstream.requests == []


class _Key(grpc.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
        metadata = (*tuple(details.metadata or ()), ("authorization", f"Bearer {ACME}"))
        return continuation(details._replace(metadata=metadata), request)


@pytest.mark.parametrize("via", ["direct", "via-envoy"])
def test_over_typed_grpc(
    fs_service: ServiceProcess, upstream: ScriptedUpstream, store_id: str, via: str
) -> None:
    upstream.enqueue(Script(tool_calls=[_search_call(["yeast"])]), Script(text="Yeast [1]."))
    target = fs_service.grpc_target if via == "direct" else fs_service.envoy_target
    with grpc.insecure_channel(target) as channel:
        stub = ResponsesServiceStub(grpc.intercept_channel(channel, _Key()))
        tool = Tool(file_search=FileSearchTool(vector_store_ids=[store_id], max_num_results=2))
        made = stub.create(CreateRequest(model="m", input=Input(text="yeast?"), tools=[tool])).response
        assert made is not None
        search = made.output[0].file_search_call
        assert search is not None and (search.status, search.queries, search.results) == (
            "completed",
            ["yeast"],
            [],
        )
        message = made.output[1].message
        assert message is not None and message.content[0].output_text is not None
        citation = message.content[0].output_text.annotations[0].file_citation
        assert citation is not None and citation.filename == "bread.txt"
        got = stub.get(GetRequest(response_id=made.id, include=[RESULTS])).response
        assert got is not None and got.output[0].file_search_call is not None
        assert got.output[0].file_search_call.results[0].filename == "bread.txt"
