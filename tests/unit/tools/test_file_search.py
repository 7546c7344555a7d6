"""The file_search kind (tools/file_search/) in the loop, with a recorded searcher in place of the vector
stores: the function the model sees, the item and its events, what the model is told, citations,
results only with `include`, failures, `tool_choice`, the request's checks and later turns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rejoinder.core.responses import ResponsesCore
from rejoinder.core.run.deps import Deps
from rejoinder.core.vector_stores.search import Ranking
from rejoinder.errors import ApiError, ErrorKind, not_found
from rejoinder.observe.observer import Observer
from rejoinder.observe.tools import ObservedKind
from rejoinder.providers import base as p
from rejoinder.providers.registry import ProviderRegistry
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.responses.v1.vector_stores_service_pb2 import VectorStore
from rejoinder.tools.file_search.kind import FileSearchKind
from rejoinder.tools.registry import ToolKinds
from rejoinder.vectors.base import SearchHit
from rejoinder.vectors.filters import Filter
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import FakeClock, InMemoryStore, ScriptedProvider, SequentialIds

CODEC = OpenAIJson()
RESULTS = "file_search_call.results"
SEARCH = {"type": "file_search", "vector_store_ids": ["vs_1"]}
REFUNDS = SearchHit("vs_1", "file_a", "policy.md", 0.9, {"team": "billing"}, "Refunds take 14 days.", 0)
SHIPPING = SearchHit("vs_1", "file_b", "shipping.md", 0.4, {}, "Parcels ship in 2 days.", 0)


class RecordingSearcher:
    """Answers every search with `hits` (or raises `error`), recording the calls."""

    def __init__(
        self, hits: Sequence[SearchHit] = (REFUNDS, SHIPPING), error: ApiError | None = None
    ) -> None:
        self.hits = list(hits)
        self.error = error
        self.calls: list[dict[str, Any]] = []

    async def search(
        self,
        tenant: str,
        vector_store_ids: Sequence[str],
        query: str | Sequence[str],
        max_num_results: int = 10,
        filters: Filter | None = None,
        ranking_options: Ranking | None = None,
    ) -> list[SearchHit]:
        self.calls.append(
            {
                "tenant": tenant,
                "stores": list(vector_store_ids),
                "queries": list(query) if not isinstance(query, str) else [query],
                "most": max_num_results,
                "filters": filters,
                "ranking": ranking_options,
            }
        )
        if self.error is not None:
            raise self.error
        return self.hits[:max_num_results]


class Stores:
    """The tenant "t" has vs_1 (and the expired vs_old); nobody else has anything."""

    async def get(self, vector_store_id: str, *, tenant: str = "") -> VectorStore:
        if tenant == "t" and vector_store_id in ("vs_1", "vs_2", "vs_old"):
            status = "expired" if vector_store_id == "vs_old" else "completed"
            return VectorStore(id=vector_store_id, status=status)
        raise not_found(f"No vector store found with id '{vector_store_id}'.")


class Calls(Observer):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, str]] = []

    def tool_call(self, tool: str, server_label: str, outcome: str, seconds: float) -> None:
        self.calls.append((tool, server_label, outcome))


def _core(
    provider: ScriptedProvider, searcher: RecordingSearcher, observer: Observer | None = None
) -> ResponsesCore:
    kind = ObservedKind(FileSearchKind(searcher, Stores()), observer or Observer())
    deps = Deps(
        store=InMemoryStore(),
        providers=ProviderRegistry({"s": provider}, {}, "s"),
        clock=FakeClock(),
        ids=SequentialIds(),
        tools=ToolKinds([kind]),
    )
    return ResponsesCore(deps)


async def _events(core: ResponsesCore, **body: object) -> list[dict[str, Any]]:
    body = {"model": "m", "input": "How long do refunds take?", "tools": [SEARCH], **body}
    run = await core.start(CODEC.decode(body, CreateRequest), tenant="t")
    return [CODEC.encode(e) async for e in run.events()]  # type: ignore[misc]


def _search(
    arguments: str = '{"queries": ["refund time", "refunds"]}', call_id: str = "c1"
) -> list[p.ChatDelta]:
    return [
        p.ToolCallDelta(index=0, id=call_id, name="file_search", arguments=arguments),
        p.FinishDelta("tool_calls"),
    ]


def _answer(text: str) -> list[p.ChatDelta]:
    return [p.TextDelta(text), p.FinishDelta("stop")]


async def test_a_search_streams_its_item_in_openai_order_and_the_model_reads_numbered_results() -> None:
    provider, searcher = ScriptedProvider(_search(), _answer("14 days [1].")), RecordingSearcher()
    events = await _events(_core(provider, searcher), stream=True)

    offered = provider.requests[0].tools
    assert [t.name for t in offered] == ["file_search"]
    assert "search the files the user has uploaded" in str(offered[0].description).lower()
    assert dict(offered[0].parameters or {})["required"] == ["queries"]
    types = [e["type"] for e in events]
    start = types.index("response.output_item.added")
    assert types[start : start + 5] == [
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added, done = events[start]["item"], events[start + 4]["item"]
    assert (added["type"], added["status"], added["queries"]) == ("file_search_call", "in_progress", [])
    assert added["id"].startswith("fs_") and done["id"] == added["id"]
    assert (done["status"], done["queries"], done["results"]) == (
        "completed",
        ["refund time", "refunds"],
        None,
    )
    assert {e["item_id"] for e in events[start + 1 : start + 4]} == {added["id"]}
    assert searcher.calls == [
        {
            "tenant": "t",
            "stores": ["vs_1"],
            "queries": ["refund time", "refunds"],
            "most": 10,
            "filters": None,
            "ranking": Ranking(),
        }
    ]
    told = provider.requests[1].messages
    assert [c.name for c in told[-2].tool_calls] == ["file_search"]
    result = told[-1].content
    assert isinstance(result, str)
    assert "[1] policy.md (file file_a)\nRefunds take 14 days." in result
    assert "[2] shipping.md (file file_b)\nParcels ship in 2 days." in result
    final = events[-1]["response"]
    assert [o["type"] for o in final["output"]] == ["file_search_call", "message"]
    assert final["output"][0]["results"] is None


async def test_a_cited_number_becomes_a_file_citation_where_the_marker_is() -> None:
    text = "Refunds take 14 days [1]. Shipping takes 2 [2]; see also [9]."
    provider = ScriptedProvider(_search(), _answer(text))
    events = await _events(_core(provider, RecordingSearcher()), stream=True)

    out = events[-1]["response"]["output"][-1]["content"][0]
    assert out["text"] == text
    assert out["annotations"] == [
        {"type": "file_citation", "file_id": "file_a", "filename": "policy.md", "index": text.index("[1]")},
        {"type": "file_citation", "file_id": "file_b", "filename": "shipping.md", "index": text.index("[2]")},
    ]
    added = [e["annotation"] for e in events if e["type"] == "response.output_text.annotation.added"]
    assert added == out["annotations"]


async def test_an_answer_citing_nothing_cites_the_files_found_at_its_end() -> None:
    provider = ScriptedProvider(_search(), _answer("Refunds take 14 days."))
    events = await _events(_core(provider, RecordingSearcher()), stream=False)

    out = events[-1]["response"]["output"][-1]["content"][0]
    assert [(a["file_id"], a["index"]) for a in out["annotations"]] == [("file_a", 21), ("file_b", 21)]


async def test_results_show_only_with_include_and_are_kept_for_a_later_retrieve() -> None:
    provider = ScriptedProvider(_search(), _answer("ok"), _search(), _answer("ok"))
    core = _core(provider, RecordingSearcher())
    shown = (await _events(core, include=[RESULTS]))[-1]["response"]
    assert shown["output"][0]["results"] == [
        {
            "file_id": "file_a",
            "filename": "policy.md",
            "score": 0.9,
            "text": "Refunds take 14 days.",
            "attributes": {"team": "billing"},
        },
        {
            "file_id": "file_b",
            "filename": "shipping.md",
            "score": 0.4,
            "text": "Parcels ship in 2 days.",
            "attributes": {},
        },
    ]
    hidden = (await _events(core, stream=True))[-1]["response"]
    assert hidden["output"][0]["results"] is None
    again: dict[str, Any] = CODEC.encode(await core.get(hidden["id"], tenant="t", include=[RESULTS]))  # type: ignore[assignment]
    assert [r["file_id"] for r in again["output"][0]["results"]] == ["file_a", "file_b"]
    plain: dict[str, Any] = CODEC.encode(await core.get(hidden["id"], tenant="t"))  # type: ignore[assignment]
    assert plain["output"][0]["results"] is None


async def test_a_later_response_reads_the_earlier_search_and_cites_it() -> None:
    provider = ScriptedProvider(_search(), _answer("14 days [1]."), _answer("As I said, 14 days [1]."))
    core = _core(provider, RecordingSearcher())
    first = (await _events(core))[-1]["response"]
    second = (await _events(core, input="Say it again", previous_response_id=first["id"]))[-1]["response"]

    told = provider.requests[2].messages
    searched = [m for m in told if m.role == "tool"]
    assert len(searched) == 1 and "[1] policy.md (file file_a)" in str(searched[0].content)
    out = second["output"][-1]["content"][0]
    assert [(a["file_id"], a["index"]) for a in out["annotations"]] == [("file_a", 19)]


async def test_a_failed_search_is_a_failed_item_the_model_is_told_about() -> None:
    error = ApiError(ErrorKind.UPSTREAM, "The search query could not be embedded: down")
    provider, observer = ScriptedProvider(_search(), _answer("Sorry.")), Calls()
    events = await _events(_core(provider, RecordingSearcher(error=error), observer), stream=True)

    types = [e["type"] for e in events]
    assert "response.file_search_call.completed" not in types
    done = next(e for e in events if e["type"] == "response.output_item.done")["item"]
    assert (done["status"], done["queries"]) == ("failed", ["refund time", "refunds"])
    told = provider.requests[1].messages[-1].content
    assert told == (
        'The search of the user\'s files for "refund time"; "refunds" failed: '
        "The search query could not be embedded: down"
    )
    assert observer.calls == [("file_search_call", "", "tool_error")]
    assert events[-1]["response"]["status"] == "completed"


async def test_arguments_without_queries_fail_the_search_without_searching() -> None:
    provider, searcher = ScriptedProvider(_search('{"q": 1}'), _answer("Sorry.")), RecordingSearcher()
    events = await _events(_core(provider, searcher))

    assert events[-1]["response"]["output"][0]["status"] == "failed"
    assert searcher.calls == []
    assert "'queries' must be a list of strings" in str(provider.requests[1].messages[-1].content)


async def test_tool_choice_file_search_forces_one_search_then_lets_the_model_answer() -> None:
    provider = ScriptedProvider(_search(), _answer("ok"))
    events = await _events(_core(provider, RecordingSearcher()), tool_choice={"type": "file_search"})

    assert provider.requests[0].tool_choice == p.NamedToolChoice("file_search")
    assert provider.requests[1].tool_choice != p.NamedToolChoice("file_search")
    assert events[-1]["response"]["tool_choice"] == {"type": "file_search"}


async def test_the_tool_options_reach_the_search() -> None:
    tool = {
        **SEARCH,
        "max_num_results": 1,
        "filters": {"type": "eq", "key": "team", "value": "billing"},
        "ranking_options": {"ranker": "none", "score_threshold": 0.5},
    }
    provider, searcher = ScriptedProvider(_search(), _answer("ok")), RecordingSearcher()
    events = await _events(_core(provider, searcher), tools=[tool], include=[RESULTS])

    call = searcher.calls[0]
    assert (call["most"], call["ranking"].ranker, call["ranking"].score_threshold) == (1, "none", 0.5)
    assert call["filters"] is not None
    assert len(events[-1]["response"]["output"][0]["results"]) == 1
    assert events[-1]["response"]["tools"][0]["max_num_results"] == 1


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"type": "file_search", "vector_store_ids": []}, "tools[0].vector_store_ids"),
        ({**SEARCH, "max_num_results": 0}, "tools[0].max_num_results"),
        ({**SEARCH, "max_num_results": 51}, "tools[0].max_num_results"),
        ({**SEARCH, "filters": {"type": "near", "key": "a", "value": 1}}, "tools[0].filters.type"),
        ({**SEARCH, "ranking_options": {"score_threshold": 1.5}}, "tools[0].ranking_options.score_threshold"),
        ({**SEARCH, "ranking_options": {"ranker": "best"}}, "ranking_options.ranker"),
    ],
)
async def test_a_malformed_tool_is_a_400_naming_the_field(tool: dict[str, Any], param: str) -> None:
    core = _core(ScriptedProvider(), RecordingSearcher())
    with pytest.raises(ApiError) as err:
        await _events(core, tools=[tool])
    assert (err.value.kind, err.value.param) == (ErrorKind.INVALID_REQUEST, param)


async def test_a_second_file_search_tool_and_a_choice_without_one_are_refused() -> None:
    core = _core(ScriptedProvider(), RecordingSearcher())
    with pytest.raises(ApiError) as err:
        await _events(core, tools=[SEARCH, {"type": "file_search", "vector_store_ids": ["vs_2"]}])
    assert err.value.param == "tools[1].type"
    with pytest.raises(ApiError) as err:
        await _events(core, tools=[], tool_choice={"type": "file_search"})
    assert (err.value.param, err.value.message) == (
        "tool_choice",
        "Tool choice 'file_search' not found in 'tools' parameter.",
    )


async def test_a_store_the_tenant_does_not_have_is_a_404_before_anything_runs() -> None:
    provider = ScriptedProvider()
    core = _core(provider, RecordingSearcher())
    tool = {"type": "file_search", "vector_store_ids": ["vs_1", "vs_other"]}
    with pytest.raises(ApiError) as err:
        await _events(core, tools=[tool], stream=True)
    assert (err.value.kind, err.value.param) == (ErrorKind.NOT_FOUND, "tools[0].vector_store_ids[1]")
    assert err.value.message == "Vector store with id 'vs_other' not found."
    with pytest.raises(ApiError) as err:
        await _events(core, tools=[{"type": "file_search", "vector_store_ids": ["vs_old"]}])
    assert (err.value.kind, err.value.code) == (ErrorKind.INVALID_REQUEST, "vector_store_expired")
    assert provider.requests == []


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "file_search_call", "queries": ["q"], "status": "completed"}, "input[0].id"),
        ({"type": "file_search_call", "id": "fs_1", "status": "completed"}, "input[0].queries"),
        ({"type": "file_search_call", "id": "fs_1", "queries": ["q"]}, "input[0].status"),
        ({"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "done"}, "input[0].status"),
    ],
)
async def test_a_file_search_call_given_back_incomplete_is_a_400(item: dict[str, Any], param: str) -> None:
    core = _core(ScriptedProvider(), RecordingSearcher())
    with pytest.raises(ApiError) as err:
        await _events(core, input=[item], tools=[])
    assert (err.value.kind, err.value.param) == (ErrorKind.INVALID_REQUEST, param)


async def test_a_file_search_call_given_back_is_read_by_the_model_without_the_tool() -> None:
    item = {
        "type": "file_search_call",
        "id": "fs_old",
        "queries": ["refunds"],
        "status": "completed",
        "results": [{"file_id": "file_a", "filename": "policy.md", "text": "Refunds take 14 days."}],
    }
    provider = ScriptedProvider(_answer("14 days."))
    await _events(
        _core(provider, RecordingSearcher()), input=[item, {"role": "user", "content": "So?"}], tools=[]
    )

    told = provider.requests[0].messages
    assert [c.name for c in told[0].tool_calls] == ["file_search"]
    assert "[1] policy.md (file file_a)\nRefunds take 14 days." in str(told[1].content)


async def test_a_search_is_traced_and_counted_at_the_seam() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observer = Calls()
    observer.tracer = provider.get_tracer("test")
    await _events(_core(ScriptedProvider(_search(), _answer("ok")), RecordingSearcher(), observer))

    spans = [s for s in exporter.get_finished_spans() if s.name == "execute_tool file_search"]
    assert len(spans) == 1 and spans[0].attributes is not None
    assert (spans[0].attributes["gen_ai.tool.name"], spans[0].attributes["gen_ai.tool.type"]) == (
        "file_search",
        "datastore",
    )
    assert observer.calls == [("file_search_call", "", "ok")]


async def test_parallel_searches_run_in_call_order_unless_parallel_calls_are_off() -> None:
    two: list[p.ChatDelta] = [
        p.ToolCallDelta(index=0, id="c1", name="file_search", arguments='{"queries": ["one"]}'),
        p.ToolCallDelta(index=1, id="c2", name="file_search", arguments='{"queries": ["two"]}'),
        p.FinishDelta("tool_calls"),
    ]
    searcher = RecordingSearcher()
    both = await _events(_core(ScriptedProvider(two, _answer("ok")), searcher))
    searches = [o for o in both[-1]["response"]["output"] if o["type"] == "file_search_call"]
    assert [s["queries"] for s in searches] == [["one"], ["two"]]
    assert sorted(c["queries"][0] for c in searcher.calls) == ["one", "two"]

    one = await _events(_core(ScriptedProvider(two, _answer("ok")), searcher), parallel_tool_calls=False)
    searches = [o for o in one[-1]["response"]["output"] if o["type"] == "file_search_call"]
    assert [s["queries"] for s in searches] == [["one"]]
