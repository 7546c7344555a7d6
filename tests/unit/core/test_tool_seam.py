"""The tool seam (tools/base.py) with a second kind beside MCP: a small file_search made for this test.

It is not the real file_search (that one searches vector stores); it shows that a kind shaped like it
plugs into the loop through the registry alone: its function offered to the model, its item and stream
events in order, what the model is told on the next turn, results only when `include` asks, citations on
the answer's text, and its calls measured at the seam without metrics code of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

import orjson

from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.observe.observer import Observer
from rejoinder.observe.tools import ObservedKind
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.content_pb2 import Annotation, FileCitation
from rejoinder.responses.v1.items_pb2 import FileSearchCall, FileSearchResult, InputItem, OutputItem
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.tools_pb2 import Tool, ToolChoice
from rejoinder.tools.base import (
    CallRun,
    Events,
    ItemWriter,
    ServedCall,
    ToolCall,
    ToolOperation,
    ToolScope,
    Transcript,
)
from rejoinder.tools.mcp.contract import CallResult, ListedTool
from rejoinder.tools.mcp.kind import McpKind
from rejoinder.tools.registry import ToolKinds
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import (
    FakeClock,
    FakeMcpConnector,
    FakeMcpSession,
    InMemoryStore,
    ScriptedProvider,
    SequentialIds,
)

CODEC = OpenAIJson()
RESULTS = "file_search_call.results"
DOCS = {"refunds": ("file_1", "policy.md", "Refunds take 14 days.")}
SEARCH = {"type": "file_search", "vector_store_ids": ["vs_1"]}
CALC = {
    "type": "mcp",
    "server_label": "calc",
    "server_url": "https://calc.test/mcp",
    "require_approval": "never",
}
ADD = ListedTool(name="add", description="Add", input_schema='{"type":"object","properties":{}}')


class SearchRun:
    """One search: finds the documents whose key a query names."""

    def __init__(self, toolset: SearchToolSet, call: ToolCall) -> None:
        self._toolset = toolset
        self._call = call
        self._found: list[tuple[str, str, str]] = []
        self._queries: list[str] = []

    @property
    def operation(self) -> ToolOperation:
        return ToolOperation(name="file_search", tool_type="datastore", tool="file_search_call")

    async def run(self) -> str:
        self._queries = list(orjson.loads(self._call.arguments or "{}").get("queries", []))
        self._found = [DOCS[q] for q in self._queries if q in DOCS]
        return "ok"

    async def events(self, out: ItemWriter, finished: Awaitable[str]) -> Events:
        item = FileSearchCall(id=self._toolset.ids.new("fs"), status="in_progress")
        index, events = out.open_item(OutputItem(file_search_call=item))
        for event in events:
            yield event
        common: dict[str, Any] = {"output_index": index, "item_id": item.id}
        yield out.emit("file_search_call_in_progress", ev.FileSearchCallInProgressEvent(**common))
        yield out.emit("file_search_call_searching", ev.FileSearchCallSearchingEvent(**common))
        await finished
        item.queries.extend(self._queries)
        item.status = "completed"
        if self._toolset.include_results:
            item.results.extend(FileSearchResult(file_id=f, filename=n, text=t) for f, n, t in self._found)
        self._toolset.found[item.id] = self._found
        yield out.emit("file_search_call_completed", ev.FileSearchCallCompletedEvent(**common))
        yield out.done_item(index, OutputItem(file_search_call=item))


class SearchToolSet:
    """The searches of one response; what they found is kept for the next turn and for citations."""

    def __init__(self, scope: ToolScope) -> None:
        self.ids = scope.ids
        self.include_results = RESULTS in scope.include
        self.found: dict[str, list[tuple[str, str, str]]] = {}
        self._name = "file_search"

    def prepare(self, history: Sequence[InputItem], out: ItemWriter) -> Events:
        return _nothing()

    def offer(self, reserved: frozenset[str]) -> tuple[p.FunctionTool, ...]:
        self._name = "file_search" if "file_search" not in reserved else "file_search_1"
        params = {"type": "object", "properties": {"queries": {"type": "array", "items": {"type": "string"}}}}
        return (p.FunctionTool(name=self._name, description="Search the files.", parameters=params),)

    def names(self) -> frozenset[str]:
        return frozenset({self._name})

    def forced_by(self, choice: ToolChoice) -> frozenset[str] | None:
        return None

    def start(self, call: ToolCall) -> CallRun:
        return SearchRun(self, call)

    def needs_approval(self, call: ToolCall) -> bool:
        return False

    def approval_request(self, call: ToolCall) -> OutputItem:
        raise AssertionError("file searches need no approval")

    def approved(self, history: Sequence[InputItem], new: Sequence[InputItem]) -> list[ToolCall]:
        return []

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        def served(item: InputItem) -> ServedCall | None:
            if item.WhichOneof("item") != "file_search_call":
                return None
            call = item.file_search_call
            texts = [t for _, _, t in self.found.get(call.id, [])]
            arguments = orjson.dumps({"queries": list(call.queries)}).decode()
            return ServedCall(call.id, self._name, arguments, "\n".join(texts) or "Nothing found.")

        return served

    def annotations(self, text: str) -> list[Annotation]:
        cited = {(f, n) for found in self.found.values() for f, n, _ in found}
        return [
            Annotation(file_citation=FileCitation(file_id=f, filename=n, index=len(text))) for f, n in cited
        ]


async def _nothing() -> Events:
    return
    yield


class SearchKind:
    """The test's file_search kind."""

    tool_type = "file_search"

    def toolset(self, tools: Sequence[Tool], scope: ToolScope) -> SearchToolSet | None:
        return SearchToolSet(scope) if any(t.WhichOneof("tool") == "file_search" for t in tools) else None

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        return lambda item: None

    def public(self, tool: Tool) -> Tool:
        return tool

    def check(self, tool: Tool, param: str, earlier: Sequence[Tool]) -> None:
        return None

    def check_choice(self, choice: ToolChoice, tools: Sequence[Tool]) -> None:
        return None

    async def admit(self, tools: Sequence[Tool], tenant: str) -> None:
        return None


class CountingObserver(Observer):
    """Records the tool calls it is told of."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, str]] = []

    def tool_call(self, tool: str, server_label: str, outcome: str, seconds: float) -> None:
        self.calls.append((tool, server_label, outcome))


async def _add(args: object) -> CallResult:
    return CallResult(text="5", content='[{"type":"text","text":"5"}]')


def _core(provider: ScriptedProvider, observer: Observer) -> ResponsesCore:
    mcp = McpKind(FakeMcpConnector({"calc": FakeMcpSession([ADD], {"add": _add})}))
    kinds = ToolKinds([ObservedKind(mcp, observer), ObservedKind(SearchKind(), observer)])
    deps = Deps(
        store=InMemoryStore(),
        providers=ProviderRegistry({"s": provider}, {}, "s"),
        clock=FakeClock(),
        ids=SequentialIds(),
        tools=kinds,
    )
    return ResponsesCore(deps)


async def _events(core: ResponsesCore, **body: object) -> list[dict[str, Any]]:
    run = await core.start(CODEC.decode({"model": "m", "input": "refund time?", **body}, CreateRequest))
    return [CODEC.encode(e) async for e in run.events()]  # type: ignore[misc]


def _search_turns() -> list[list[p.ChatDelta]]:
    search = p.ToolCallDelta(index=0, id="c1", name="file_search", arguments='{"queries": ["refunds"]}')
    add = p.ToolCallDelta(index=1, id="c2", name="add", arguments="{}")
    return [[search, add, p.FinishDelta("tool_calls")], [p.TextDelta("14 days."), p.FinishDelta("stop")]]


async def test_a_second_kind_runs_beside_mcp_through_the_registry_alone() -> None:
    provider, observer = ScriptedProvider(*_search_turns()), CountingObserver()
    events = await _events(_core(provider, observer), tools=[SEARCH, CALC], stream=True)

    assert sorted(t.name for t in provider.requests[0].tools) == ["add", "file_search"]
    types = [e["type"] for e in events]
    searched = types.index("response.file_search_call.in_progress")
    assert types[searched : searched + 3] == [
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
    ]
    assert types.index("response.file_search_call.completed") < types.index("response.mcp_call.in_progress")
    final = events[-1]["response"]
    assert [o["type"] for o in final["output"]] == [
        "mcp_list_tools",
        "file_search_call",
        "mcp_call",
        "message",
    ]
    search = final["output"][1]
    assert (search["queries"], search["status"], search["results"]) == (["refunds"], "completed", None)
    told = provider.requests[1].messages
    assert [(m.role, m.content) for m in told[-2:]] == [("tool", "Refunds take 14 days."), ("tool", "5")]
    assert [c.name for c in told[-3].tool_calls] == ["file_search", "add"]
    assert observer.calls == [("file_search_call", "", "ok"), ("mcp_call", "calc", "ok")]


async def test_results_only_when_included_and_citations_on_the_answer() -> None:
    provider = ScriptedProvider(*_search_turns())
    events = await _events(_core(provider, Observer()), tools=[SEARCH, CALC], stream=True, include=[RESULTS])

    final = events[-1]["response"]
    assert final["output"][1]["results"] == [
        {
            "file_id": "file_1",
            "filename": "policy.md",
            "score": None,
            "text": "Refunds take 14 days.",
            "attributes": None,
        }
    ]
    text = final["output"][-1]["content"][0]
    citation = {"type": "file_citation", "file_id": "file_1", "filename": "policy.md", "index": 8}
    assert (text["text"], text["annotations"]) == ("14 days.", [citation])
    added = [e for e in events if e["type"] == "response.output_text.annotation.added"]
    assert [(e["annotation_index"], e["annotation"]) for e in added] == [(0, citation)]
    types = [e["type"] for e in events]
    assert types.index("response.output_text.annotation.added") < types.index("response.output_text.done")
    done = next(e for e in events if e["type"] == "response.content_part.done")
    assert done["part"]["annotations"] == [citation]


async def test_a_non_stream_answer_carries_the_citations_too() -> None:
    provider = ScriptedProvider(*_search_turns())
    events = await _events(_core(provider, Observer()), tools=[SEARCH, CALC], stream=False)

    text = events[-1]["response"]["output"][-1]["content"][0]
    assert [a["type"] for a in text["annotations"]] == ["file_citation"]
