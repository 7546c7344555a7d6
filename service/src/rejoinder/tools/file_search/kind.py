"""`file_search` as a tool kind: `FileSearchKind` (registered once) and the `FileSearchToolSet` of one
response.

The model sees one function, `file_search(queries: string[])`, described as a search of the user's
files; each call searches the request's vector stores (`vector_store_ids`, `max_num_results`,
`filters`, `ranking_options` of the tool) with every query, merged by best score, and becomes a
`file_search_call` item (call.py). The model reads the results numbered (reading.py) and the answer's
text gets `file_citation` annotations (citations.py). `tool_choice: {"type": "file_search"}` forces a
search. No approvals: the search reads only the tenant's own stores.
"""

from __future__ import annotations

from collections.abc import Sequence

from rejoinder.errors import ApiError, ErrorKind, clip, invalid
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Annotation
from rejoinder.responses.v1.items_pb2 import InputItem, OutputItem
from rejoinder.responses.v1.tools_pb2 import Tool, ToolChoice
from rejoinder.tools.base import CallRun, Events, ItemWriter, ToolCall, ToolScope, Transcript
from rejoinder.tools.file_search.call import FileSearchRun
from rejoinder.tools.file_search.citations import citations
from rejoinder.tools.file_search.contract import Searcher, StoreLookup
from rejoinder.tools.file_search.options import (
    SearchOptions,
    check_file_search,
    first_file_search,
    missing_vector_store,
    search_options,
)
from rejoinder.tools.file_search.reading import DESCRIPTION, TOOL_NAME, Reading, parameters

RESULTS = "file_search_call.results"
TIMEOUT_S = 30.0
CHOICE_CASE = "file_search"


class FileSearchToolSet:
    """The `ToolSet` of a response's file_search tool; keeps what its searches found for citations."""

    def __init__(
        self, options: SearchOptions, searcher: Searcher, scope: ToolScope, timeout_s: float
    ) -> None:
        self.options = options
        self.searcher = searcher
        self.ids = scope.ids
        self.tenant = scope.tenant
        self.include = scope.include
        self.timeout_s = timeout_s
        self.found: list[tuple[str, str]] = []  # (file id, filename) of this response's results, in order
        self.failures: dict[str, str] = {}  # item id -> why the search failed
        self._name = TOOL_NAME
        self._reading = Reading(())

    async def prepare(self, history: Sequence[InputItem], out: ItemWriter) -> Events:
        return
        yield

    def offer(self, reserved: frozenset[str]) -> tuple[p.FunctionTool, ...]:
        name, n = TOOL_NAME, 1
        while name in reserved:
            name, n = f"{TOOL_NAME}_{n}", n + 1
        self._name = name
        return (p.FunctionTool(name=name, description=DESCRIPTION, parameters=parameters()),)

    def names(self) -> frozenset[str]:
        return frozenset({self._name})

    def forced_by(self, choice: ToolChoice) -> frozenset[str] | None:
        return self.names() if choice.WhichOneof("tool_choice") == CHOICE_CASE else None

    def start(self, call: ToolCall) -> CallRun:
        return FileSearchRun(self, call)

    def needs_approval(self, call: ToolCall) -> bool:
        return False

    def approval_request(self, call: ToolCall) -> OutputItem:
        raise AssertionError("file searches need no approval")

    def approved(self, history: Sequence[InputItem], new: Sequence[InputItem]) -> list[ToolCall]:
        return []

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        self._reading = Reading(items, self._name, self.failures)  # the numbers the model sees next
        return self._reading.served

    def annotations(self, text: str) -> list[Annotation]:
        return citations(text, self._reading.sources, self.found)


class FileSearchKind:
    """The `file_search` tool kind: searches the tenant's vector stores through `searcher`."""

    tool_type = "file_search"

    def __init__(self, searcher: Searcher, stores: StoreLookup, timeout_s: float = TIMEOUT_S) -> None:
        self._searcher = searcher
        self._stores = stores
        self._timeout_s = timeout_s

    def toolset(self, tools: Sequence[Tool], scope: ToolScope) -> FileSearchToolSet | None:
        found = first_file_search(tools)
        if found is None:
            return None
        index, tool = found
        return FileSearchToolSet(
            search_options(tool, f"tools[{index}]"), self._searcher, scope, self._timeout_s
        )

    def transcript(self, items: Sequence[InputItem]) -> Transcript:
        return Reading(items).served

    def public(self, tool: Tool) -> Tool:
        return tool

    def check(self, tool: Tool, param: str, earlier: Sequence[Tool]) -> None:
        check_file_search(tool, param, earlier)

    def check_choice(self, choice: ToolChoice, tools: Sequence[Tool]) -> None:
        if choice.WhichOneof("tool_choice") == CHOICE_CASE and first_file_search(tools) is None:
            raise invalid(
                "Tool choice 'file_search' not found in 'tools' parameter.",
                param="tool_choice",
                code="invalid_value",
            )

    async def admit(self, tools: Sequence[Tool], tenant: str) -> None:
        """Each vector store the tool names is the tenant's (else 404) and not expired (else 400), before
        anything runs."""
        found = first_file_search(tools)
        if found is None:
            return
        index, tool = found
        for i, vector_store_id in enumerate(tool.vector_store_ids):
            param = f"tools[{index}].vector_store_ids[{i}]"
            try:
                store = await self._stores.get(vector_store_id, tenant=tenant)
            except ApiError as exc:
                if exc.kind is ErrorKind.NOT_FOUND:
                    raise missing_vector_store(vector_store_id, param) from exc
                raise
            if store.status == "expired":
                raise invalid(
                    f"Vector store '{clip(vector_store_id)}' has expired; it can no longer be searched.",
                    param=param,
                    code="vector_store_expired",
                )
