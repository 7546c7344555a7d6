"""OpenAI's attribute filters (vector store search, the file_search tool): parsed once into typed values,
then evaluated against a file's attributes.

A `ComparisonFilter` is `{key, type: eq|ne|gt|gte|lt|lte|in|nin, value}` with a string, number or
boolean value (a list of strings and numbers for `in`/`nin`); a `CompoundFilter` is
`{type: and|or, filters: [...]}`, nested to any depth. Semantics:

- `eq`/`ne` compare like with like: a string never equals a number, `true` never equals `1`.
- `gt`/`gte`/`lt`/`lte` order numbers, or strings (by code point); a boolean value is refused, and an
  attribute of the other kind never matches.
- `in`/`nin`: the attribute equals (does not equal) one of the list's values.
- A file without the key matches only `ne` and `nin` (it is not equal to anything).
- `and` of no filters matches everything, `or` of none nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from rejoinder.vectors.errors import InvalidParam

Scalar: TypeAlias = str | float | bool
AttributeValue: TypeAlias = str | float | bool
Attributes: TypeAlias = Mapping[str, AttributeValue]
Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
Combination = Literal["and", "or"]

COMPARISONS: tuple[Comparison, ...] = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
COMBINATIONS: tuple[Combination, ...] = ("and", "or")
MAX_DEPTH = 16
MAX_FILTERS = 256  # comparisons in one filter, all levels together


@dataclass(frozen=True)
class ComparisonFilter:
    """OpenAI: ComparisonFilter. `value` is a tuple for `in`/`nin`, a scalar otherwise."""

    key: str
    type: Comparison
    value: Scalar | tuple[str | float, ...]


@dataclass(frozen=True)
class CompoundFilter:
    """OpenAI: CompoundFilter."""

    type: Combination
    filters: tuple[Filter, ...]


Filter: TypeAlias = ComparisonFilter | CompoundFilter


def parse_filters(value: object, param: str = "filters") -> Filter:
    """OpenAI's filter JSON as a `Filter`; raises `InvalidParam` naming the offending path."""
    count = [0]
    return _parse(value, param, 0, count)


def _parse(value: object, param: str, depth: int, count: list[int]) -> Filter:
    if not isinstance(value, Mapping):
        raise InvalidParam(f"'{param}' must be an object", param=param)
    if depth > MAX_DEPTH:
        raise InvalidParam(f"filters nest at most {MAX_DEPTH} levels deep", param=param)
    kind = value.get("type")
    if kind in COMBINATIONS:
        return _compound(value, kind, param, depth, count)
    if kind not in COMPARISONS:
        allowed = ", ".join(COMPARISONS + COMBINATIONS)
        raise InvalidParam(f"'{param}.type' must be one of {allowed}; got {kind!r}", param=f"{param}.type")
    count[0] += 1
    if count[0] > MAX_FILTERS:
        raise InvalidParam(f"a filter holds at most {MAX_FILTERS} comparisons", param=param)
    return _comparison(value, kind, param)


def _compound(
    value: Mapping[object, object], kind: Combination, param: str, depth: int, count: list[int]
) -> CompoundFilter:
    filters = value.get("filters")
    if not isinstance(filters, list):
        raise InvalidParam(f"'{param}.filters' must be an array of filters", param=f"{param}.filters")
    parsed = tuple(_parse(f, f"{param}.filters[{i}]", depth + 1, count) for i, f in enumerate(filters))
    return CompoundFilter(kind, parsed)


def _comparison(value: Mapping[object, object], kind: Comparison, param: str) -> ComparisonFilter:
    key = value.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidParam(f"'{param}.key' must be a non-empty string", param=f"{param}.key")
    if "value" not in value:
        raise InvalidParam(f"'{param}.value' is required", param=f"{param}.value")
    raw = value.get("value")
    where = f"{param}.value"
    if kind in ("in", "nin"):
        if not isinstance(raw, list):
            raise InvalidParam(f"'{where}' must be an array for '{kind}'", param=where)
        items = tuple(_list_item(item, f"{where}[{i}]") for i, item in enumerate(raw))
        return ComparisonFilter(key, kind, items)
    scalar = _scalar(raw, where, kind)
    if kind in ("gt", "gte", "lt", "lte") and isinstance(scalar, bool):
        raise InvalidParam(f"'{where}' must be a number or a string for '{kind}'", param=where)
    return ComparisonFilter(key, kind, scalar)


def _scalar(raw: object, where: str, kind: str) -> Scalar:
    if isinstance(raw, bool | str):
        return raw
    if isinstance(raw, int | float):
        return _number(raw, where)
    raise InvalidParam(f"'{where}' must be a string, number or boolean for '{kind}'", param=where)


def _list_item(raw: object, where: str) -> str | float:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return _number(raw, where)
    raise InvalidParam(f"'{where}' must be a string or a number", param=where)


def _number(raw: float, where: str) -> float:
    number = float(raw)
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidParam(f"'{where}' must be a finite number", param=where)
    return number


def matches(flt: Filter, attributes: Attributes) -> bool:
    """Whether a file with these attributes passes the filter."""
    if isinstance(flt, CompoundFilter):
        results = (matches(inner, attributes) for inner in flt.filters)
        return all(results) if flt.type == "and" else any(results)
    if flt.key not in attributes:
        return flt.type in ("ne", "nin")
    return _compare(flt, attributes[flt.key])


def _compare(flt: ComparisonFilter, actual: AttributeValue) -> bool:
    value = flt.value
    if isinstance(value, tuple):
        found = any(_equal(actual, item) for item in value)
        return found if flt.type == "in" else not found
    if flt.type == "eq":
        return _equal(actual, value)
    if flt.type == "ne":
        return not _equal(actual, value)
    return _ordered(flt.type, actual, value)


def _kind(value: AttributeValue) -> str:
    return "bool" if isinstance(value, bool) else "str" if isinstance(value, str) else "number"


def _equal(actual: AttributeValue, expected: AttributeValue) -> bool:
    return _kind(actual) == _kind(expected) and actual == expected


def _ordered(kind: Comparison, actual: AttributeValue, bound: AttributeValue) -> bool:
    if _kind(actual) != _kind(bound) or isinstance(actual, bool):
        return False
    if isinstance(actual, str) and isinstance(bound, str):
        return _order(kind, (actual > bound) - (actual < bound))
    if not isinstance(actual, str) and not isinstance(bound, str):
        return _order(kind, (actual > bound) - (actual < bound))
    return False


def _order(kind: Comparison, sign: int) -> bool:
    return {"gt": sign > 0, "gte": sign >= 0, "lt": sign < 0, "lte": sign <= 0}[kind]


def select(flt: Filter | None, files: Sequence[tuple[str, Attributes]]) -> list[str]:
    """The ids of the files (id, attributes) that pass the filter (all of them when there is none)."""
    return [file_id for file_id, attrs in files if flt is None or matches(flt, attrs)]
