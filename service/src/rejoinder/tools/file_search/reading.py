"""How file searches read to the model, and the numbers it cites them by.

Every result of every `file_search_call` among a turn's items (earlier turns, earlier responses of the
conversation, this response) gets a number, in item order from 1; the model is told each result as
`[n] filename (file file_id)` followed by its text and asked to cite a result by writing `[n]` where it
uses it. The same numbering is what `citations.py` reads back from the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from rejoinder.responses.v1.items_pb2 import FileSearchCall, InputItem
from rejoinder.tools.base import ServedCall

ITEM_CASE = "file_search_call"
TOOL_NAME = "file_search"
DESCRIPTION = (
    "Search the files the user has uploaded (their vector stores) for passages relevant to the "
    "conversation. Give one or more search queries, each a short, self-contained question or set of "
    "keywords; several queries phrased differently find more. Use it whenever the answer may depend on "
    "the user's files. Each result comes numbered like [1]: when your answer uses a result, cite it by "
    "writing its number in brackets right after the statement it supports, e.g. [1] or [1][3]."
)


def parameters() -> dict[str, object]:
    """The function's JSON schema (a new dict each time: whoever sends it may rewrite it)."""
    return {
        "type": "object",
        "properties": {
            "queries": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 500},
                "minItems": 1,
                "maxItems": 10,
                "description": "The search queries (1 to 10).",
            }
        },
        "required": ["queries"],
    }


@dataclass(frozen=True)
class Source:
    """A result the model may cite: its number, its file."""

    number: int
    file_id: str
    filename: str


def _quoted(queries: Sequence[str]) -> str:
    return "; ".join(f'"{q}"' for q in queries) or "(no queries)"


def _told(call: FileSearchCall, first: int, failure: str | None) -> str:
    """What the model is told a search came to, its results numbered from `first`."""
    queries = _quoted(call.queries)
    if call.status == "failed":
        reason = f": {failure}" if failure else "."
        return f"The search of the user's files for {queries} failed{reason}"
    if call.status != "completed":
        return f"The search of the user's files for {queries} did not finish."
    if not call.results:
        return f"The search of the user's files for {queries} found nothing."
    lines = [f"Results of searching the user's files for {queries} (cite a result you use as [n]):"]
    for n, result in enumerate(call.results, start=first):
        lines.append(f"\n[{n}] {result.filename} (file {result.file_id})\n{result.text}")
    return "\n".join(lines)


class Reading:
    """The file searches among a turn's `items`, numbered, as the model reads them."""

    def __init__(
        self, items: Sequence[InputItem], name: str = TOOL_NAME, failures: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.sources: dict[int, Source] = {}
        self._told: dict[str, str] = {}
        failures = failures or {}
        for item in items:
            if item.WhichOneof("item") != ITEM_CASE:
                continue
            call = item.file_search_call
            first = len(self.sources) + 1
            self._told[call.id] = _told(call, first, failures.get(call.id))
            for n, result in enumerate(call.results, start=first):
                self.sources[n] = Source(n, result.file_id, result.filename)

    def served(self, item: InputItem) -> ServedCall | None:
        """The `Transcript` of these items: a search as a call of the tool with the text it got back."""
        if item.WhichOneof("item") != ITEM_CASE:
            return None
        call = item.file_search_call
        arguments = orjson.dumps({"queries": list(call.queries)}).decode()
        told = self._told.get(call.id) or _told(call, len(self.sources) + 1, None)
        return ServedCall(call.id, self.name, arguments, told)
