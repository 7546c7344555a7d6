"""The checks of vector store requests, as OpenAI makes them; every 400 of the API is raised here.

Parameters come as protos (both surfaces decode into them); what passes comes out as plain values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from google.protobuf import json_format, struct_pb2

from rejoinder.core.checks.validation import check_metadata
from rejoinder.errors import ApiError, clip, invalid, too_long, too_many
from rejoinder.responses.v1 import vector_stores_service_pb2 as pb
from rejoinder.store.vector_stores.base import FILE_STATUSES, FileStatus
from rejoinder.vectors.chunking import AUTO, ChunkingStrategy, static_strategy
from rejoinder.vectors.errors import InvalidParam
from rejoinder.vectors.filters import AttributeValue, Filter, parse_filters

MAX_FILE_IDS = 500  # vector_stores.create
MAX_BATCH_FILES = 2000  # file_batches.create
MAX_ATTRIBUTES = 16
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_VALUE = 512
MAX_NAME = 256
MIN_DAYS, MAX_DAYS = 1, 365
RANKERS = ("none", "auto", "default-2024-11-15")


def bad_param(err: InvalidParam) -> ApiError:
    """The vector package's error as OpenAI's 400."""
    return invalid(f"Invalid '{err.param}': {err.message}.", param=err.param, code="invalid_value")


def name(value: str) -> str:
    if len(value) > MAX_NAME:
        raise too_long(len(value), MAX_NAME, "name")
    return value


def metadata(value: Mapping[str, str]) -> dict[str, str]:
    check_metadata(value)
    return dict(value)


def expires_after(value: pb.VectorStoreExpiresAfter, param: str = "expires_after") -> int:
    """The days of an expiry policy (anchor "last_active_at", 1 to 365 days)."""
    if value.anchor != "last_active_at":
        raise invalid(
            f"Invalid value: '{clip(value.anchor)}'. Supported values are: 'last_active_at'.",
            param=f"{param}.anchor",
            code="invalid_value",
        )
    if not MIN_DAYS <= value.days <= MAX_DAYS:
        raise invalid(
            f"Invalid '{param}.days': expected a value between {MIN_DAYS} and {MAX_DAYS}, "
            f"but got {value.days} instead.",
            param=f"{param}.days",
            code="invalid_value",
        )
    return value.days


def chunking(value: pb.ChunkingStrategy, present: bool, param: str = "chunking_strategy") -> ChunkingStrategy:
    """A request's chunking strategy: auto (also when absent) or static, with OpenAI's bounds."""
    case = value.WhichOneof("strategy") if present else None
    if case is None or case == "auto":
        return AUTO
    if case == "other":
        raise invalid(
            "Invalid value: 'other'. Supported values are: 'auto' and 'static'.",
            param=f"{param}.type",
            code="invalid_value",
        )
    sizes = value.static.static
    try:
        return static_strategy(
            sizes.max_chunk_size_tokens, sizes.chunk_overlap_tokens, param=f"{param}.static"
        )
    except InvalidParam as err:
        raise bad_param(err) from err


def attributes(value: struct_pb2.Struct, param: str = "attributes") -> dict[str, AttributeValue]:
    """At most 16 keys of up to 64 characters; values strings of up to 512, numbers or booleans."""
    if len(value.fields) > MAX_ATTRIBUTES:
        raise invalid(
            f"Invalid '{param}': too many properties. Expected an object with at most {MAX_ATTRIBUTES} "
            f"properties, but got an object with {len(value.fields)} properties instead.",
            param=param,
            code="object_above_max_properties",
        )
    out: dict[str, AttributeValue] = {}
    for key, item in value.fields.items():
        if len(key) > MAX_ATTRIBUTE_KEY:
            raise too_long(len(key), MAX_ATTRIBUTE_KEY, param)
        out[key] = _attribute(item, f"{param}.{key}")
    return out


def _attribute(item: struct_pb2.Value, param: str) -> AttributeValue:
    kind = item.WhichOneof("kind")
    if kind == "string_value":
        if len(item.string_value) > MAX_ATTRIBUTE_VALUE:
            raise too_long(len(item.string_value), MAX_ATTRIBUTE_VALUE, param)
        return item.string_value
    if kind == "bool_value":
        return item.bool_value
    if kind == "number_value" and math.isfinite(item.number_value):
        number = item.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    raise invalid(
        f"Invalid type for '{param}': expected a string, a number or a boolean.",
        param=param,
        code="invalid_type",
    )


def file_ids(values: Sequence[str], most: int, param: str = "file_ids") -> list[str]:
    """IDs, each once, in order."""
    if len(values) > most:
        raise too_many(len(values), most, param)
    for i, value in enumerate(values):
        if not value:
            raise invalid(
                f"Invalid '{param}[{i}]': empty string.", param=f"{param}[{i}]", code="invalid_value"
            )
    return list(dict.fromkeys(values))


def status_filter(value: str | None) -> FileStatus | None:
    if value is None or value == "":
        return None
    for status in FILE_STATUSES:
        if value == status:
            return status
    allowed = ", ".join(f"'{s}'" for s in FILE_STATUSES)
    raise invalid(
        f"Invalid value: '{clip(value)}'. Supported values are: {allowed}.",
        param="filter",
        code="invalid_value",
    )


def filters(value: struct_pb2.Struct, present: bool, param: str = "filters") -> Filter | None:
    """OpenAI's comparison or compound filter, or None."""
    if not present:
        return None
    try:
        return parse_filters(json_format.MessageToDict(value), param)
    except InvalidParam as err:
        raise bad_param(err) from err


def ranker(value: str) -> str:
    if value not in RANKERS:
        allowed = ", ".join(f"'{r}'" for r in RANKERS)
        raise invalid(
            f"Invalid value: '{clip(value)}'. Supported values are: {allowed}.",
            param="ranking_options.ranker",
            code="invalid_value",
        )
    return value


def rewrite_query(value: bool) -> None:
    """We do not rewrite queries: `true` is refused, naming the parameter (false is what we do anyway)."""
    if value:
        raise invalid(
            "rewrite_query is not supported by this server: queries are searched as they are given. "
            "Send rewrite_query: false, or leave it out.",
            param="rewrite_query",
            code="unsupported_value",
        )


def queries(value: pb.SearchQuery) -> list[str]:
    """The query or queries, none empty."""
    case = value.WhichOneof("query")
    texts = [value.text] if case == "text" else list(value.list.queries) if case == "list" else []
    if not texts:
        raise invalid(
            "Missing required parameter: 'query'.", param="query", code="missing_required_parameter"
        )
    for i, text in enumerate(texts):
        if not text.strip():
            where = "query" if case == "text" else f"query[{i}]"
            raise invalid(f"Invalid '{where}': empty string.", param=where, code="invalid_value")
    return texts


MAX_SEARCH_RESULTS = 50


def out_of_range(param: str, value: int, low: int, high: int) -> ApiError:
    return invalid(
        f"Invalid '{param}': expected a value between {low} and {high}, but got {value} instead.",
        param=param,
        code="invalid_value",
    )
