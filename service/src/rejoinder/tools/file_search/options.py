"""A request's `file_search` tool, checked: what every search of the response uses (400s name the
parameter, e.g. `tools[1].max_num_results`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf import json_format

from rejoinder.core.vector_stores.checks import bad_param
from rejoinder.core.vector_stores.search import Ranking, ranking_from_json
from rejoinder.errors import ApiError, clip, invalid, not_found
from rejoinder.responses.v1.tools_pb2 import FileSearchTool, Tool
from rejoinder.vectors.base import DEFAULT_NUM_RESULTS
from rejoinder.vectors.errors import InvalidParam
from rejoinder.vectors.filters import Filter, parse_filters

MAX_NUM_RESULTS = 50


@dataclass(frozen=True)
class SearchOptions:
    """How a response's searches run: the stores, how many results, which files, how ranked."""

    vector_store_ids: tuple[str, ...]
    max_num_results: int = DEFAULT_NUM_RESULTS
    filters: Filter | None = None
    ranking: Ranking = field(default_factory=Ranking)


def _max_num_results(tool: FileSearchTool, param: str) -> int:
    if not tool.HasField("max_num_results"):
        return DEFAULT_NUM_RESULTS
    value = tool.max_num_results
    if value < 1:
        raise invalid(
            f"Invalid '{param}': integer below minimum value. Expected a value >= 1, "
            f"but got {value} instead.",
            param=param,
            code="integer_below_min_value",
        )
    if value > MAX_NUM_RESULTS:
        raise invalid(
            f"Invalid '{param}': integer above maximum value. Expected a value <= {MAX_NUM_RESULTS}, "
            f"but got {value} instead.",
            param=param,
            code="integer_above_max_value",
        )
    return value


def _vector_store_ids(tool: FileSearchTool, param: str) -> tuple[str, ...]:
    if not tool.vector_store_ids:
        raise invalid(
            f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty "
            "array instead.",
            param=param,
            code="empty_array",
        )
    for i, vector_store_id in enumerate(tool.vector_store_ids):
        if not vector_store_id:
            raise invalid(
                f"Invalid '{param}[{i}]': empty string. Expected a vector store ID.",
                param=f"{param}[{i}]",
                code="empty_string",
            )
    return tuple(dict.fromkeys(tool.vector_store_ids))


def search_options(tool: FileSearchTool, param: str = "tools[0]") -> SearchOptions:
    """The options of a `file_search` tool at `param`; raises `ApiError` (400 naming the field)."""
    ids = _vector_store_ids(tool, f"{param}.vector_store_ids")
    most = _max_num_results(tool, f"{param}.max_num_results")
    filters = None
    if tool.HasField("filters"):
        try:
            filters = parse_filters(json_format.MessageToDict(tool.filters), f"{param}.filters")
        except InvalidParam as err:
            raise bad_param(err) from err
    ranking = Ranking()
    if tool.HasField("ranking_options"):
        ranking = ranking_from_json(
            json_format.MessageToDict(tool.ranking_options), f"{param}.ranking_options"
        )
    return SearchOptions(ids, most, filters, ranking)


def check_file_search(tool: Tool, param: str, earlier: Sequence[Tool]) -> None:
    """One `file_search` tool per request (a second is refused: its stores belong in the first), with
    well-formed options."""
    if any(t.WhichOneof("tool") == "file_search" for t in earlier):
        raise invalid(
            "Only one file_search tool is allowed; list every vector store in its 'vector_store_ids'.",
            param=f"{param}.type",
            code="invalid_value",
        )
    search_options(tool.file_search, param)


def first_file_search(tools: Sequence[Tool]) -> tuple[int, FileSearchTool] | None:
    """The request's `file_search` tool and its position, or None."""
    for i, tool in enumerate(tools):
        if tool.WhichOneof("tool") == "file_search":
            return i, tool.file_search
    return None


def missing_vector_store(vector_store_id: str, param: str) -> ApiError:
    """The 404 of a tool's vector store the tenant does not have."""
    return not_found(f"Vector store with id '{clip(vector_store_id)}' not found.", param=param)
