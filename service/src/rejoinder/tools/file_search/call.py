"""One file search the model asked for: its `file_search_call` item and events, as OpenAI streams them.

`response.output_item.added` (status `in_progress`, no queries yet), `response.file_search_call.in_progress`,
`response.file_search_call.searching`, then, when the search is done, `response.file_search_call.completed`
and `response.output_item.done` with the queries, status `completed` and the results. A search that
fails (bad arguments, a store gone, the query not embedded, too slow) ends `failed` with no
`completed` event (OpenAI has none for it), and the model is told why.

The item always keeps its results (stored so, and read by the model on later turns); the
`output_item.done` event shows them only when `include` asks for `file_search_call.results`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from google.protobuf.struct_pb2 import Struct

from rejoinder.core.include import withhold
from rejoinder.errors import ApiError
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.items_pb2 import FileSearchCall, FileSearchResult, OutputItem
from rejoinder.tools.base import Events, ItemWriter, ToolCall, ToolOperation
from rejoinder.tools.file_search.reading import TOOL_NAME
from rejoinder.vectors.base import SearchHit

if TYPE_CHECKING:
    from rejoinder.tools.file_search.kind import FileSearchToolSet

MAX_QUERIES = 10
OPERATION = ToolOperation(name=TOOL_NAME, tool_type="datastore", tool="file_search_call")


class BadArguments(ValueError):
    """The model's arguments are not `{"queries": [...]}` with 1 to 10 non-empty strings."""


def parse_queries(arguments: str) -> list[str]:
    """The queries of a call's arguments (`queries`, or a lone `query` string); raises `BadArguments`."""
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError as exc:
        raise BadArguments("the arguments are not JSON") from exc
    if not isinstance(parsed, dict):
        raise BadArguments("the arguments must be an object with 'queries'")
    raw = parsed.get("queries", parsed.get("query"))
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(q, str) for q in values):
        raise BadArguments("'queries' must be a list of strings")
    queries = [q.strip() for q in values if q.strip()]
    if not 1 <= len(queries) <= MAX_QUERIES:
        raise BadArguments(f"give 1 to {MAX_QUERIES} non-empty queries")
    return queries


def result_of(hit: SearchHit) -> FileSearchResult:
    """A hit as the item's result."""
    attributes = Struct()
    attributes.update(dict(hit.attributes))
    return FileSearchResult(
        file_id=hit.file_id, filename=hit.filename, score=hit.score, text=hit.content, attributes=attributes
    )


class FileSearchRun:
    """A started search (`CallRun`)."""

    def __init__(self, toolset: FileSearchToolSet, call: ToolCall) -> None:
        self._toolset = toolset
        self._call = call
        self._queries: list[str] = []
        self._hits: Sequence[SearchHit] = ()
        self._failure = "the search did not finish"

    @property
    def operation(self) -> ToolOperation:
        return OPERATION

    async def run(self) -> str:
        toolset = self._toolset
        try:
            self._queries = parse_queries(self._call.arguments)
        except BadArguments as exc:
            self._failure = f"invalid arguments: {exc}"
            return "tool_error"
        options = toolset.options
        try:
            async with asyncio.timeout(toolset.timeout_s):
                self._hits = await toolset.searcher.search(
                    toolset.tenant,
                    options.vector_store_ids,
                    self._queries,
                    options.max_num_results,
                    options.filters,
                    options.ranking,
                )
        except TimeoutError:
            self._failure = f"the search took longer than {toolset.timeout_s:g} s"
            return "timeout"
        except ApiError as exc:
            self._failure = exc.message
            return "tool_error"
        return "ok"

    async def events(self, out: ItemWriter, finished: Awaitable[str]) -> Events:
        toolset = self._toolset
        item = FileSearchCall(id=toolset.ids.new("fs"), status="in_progress")
        index, opened = out.open_item(OutputItem(file_search_call=item))
        for event in opened:
            yield event
        common: dict[str, Any] = {"output_index": index, "item_id": item.id}
        yield out.emit("file_search_call_in_progress", ev.FileSearchCallInProgressEvent(**common))
        yield out.emit("file_search_call_searching", ev.FileSearchCallSearchingEvent(**common))
        outcome = await finished
        item.queries.extend(self._queries)
        if outcome == "ok":
            item.status = "completed"
            item.results.extend(result_of(hit) for hit in self._hits)
            toolset.found.extend((hit.file_id, hit.filename) for hit in self._hits)
            yield out.emit("file_search_call_completed", ev.FileSearchCallCompletedEvent(**common))
        else:
            item.status = "failed"
            toolset.failures[item.id] = self._failure
        done = out.done_item(index, OutputItem(file_search_call=item))  # the event holds a copy
        withhold([done.output_item_done.item], toolset.include)
        yield done
