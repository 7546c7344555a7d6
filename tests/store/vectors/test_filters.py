"""Attribute filters: OpenAI's JSON parsed with errors that name the parameter, and what they match."""

from __future__ import annotations

import pytest

from rejoinder.vectors.errors import InvalidParam
from rejoinder.vectors.filters import (
    AttributeValue,
    ComparisonFilter,
    CompoundFilter,
    matches,
    parse_filters,
    select,
)


def test_parses_nested_filters_into_typed_values() -> None:
    parsed = parse_filters(
        {
            "type": "or",
            "filters": [
                {"type": "eq", "key": "a", "value": "x"},
                {"type": "and", "filters": [{"type": "in", "key": "n", "value": [1, "two"]}]},
            ],
        }
    )
    assert parsed == CompoundFilter(
        "or",
        (
            ComparisonFilter("a", "eq", "x"),
            CompoundFilter("and", (ComparisonFilter("n", "in", (1.0, "two")),)),
        ),
    )


@pytest.mark.parametrize(
    ("raw", "param", "message"),
    [
        ("eq", "filters", "must be an object"),
        ({"type": "like", "key": "a", "value": 1}, "filters.type", "must be one of eq, ne"),
        ({"type": "eq", "value": 1}, "filters.key", "non-empty string"),
        ({"type": "eq", "key": "a"}, "filters.value", "is required"),
        ({"type": "eq", "key": "a", "value": None}, "filters.value", "string, number or boolean"),
        ({"type": "eq", "key": "a", "value": {"x": 1}}, "filters.value", "string, number or boolean"),
        ({"type": "eq", "key": "a", "value": [1]}, "filters.value", "string, number or boolean"),
        ({"type": "gt", "key": "a", "value": True}, "filters.value", "number or a string for 'gt'"),
        ({"type": "in", "key": "a", "value": "x"}, "filters.value", "must be an array"),
        ({"type": "nin", "key": "a", "value": [1, None]}, "filters.value[1]", "string or a number"),
        ({"type": "in", "key": "a", "value": [True]}, "filters.value[0]", "string or a number"),
        ({"type": "and", "filters": {}}, "filters.filters", "array of filters"),
        (
            {
                "type": "and",
                "filters": [{"type": "eq", "key": "a", "value": 1}, {"type": "or", "filters": [3]}],
            },
            "filters.filters[1].filters[0]",
            "must be an object",
        ),
        ({"type": "lt", "key": "a", "value": float("nan")}, "filters.value", "finite"),
    ],
)
def test_bad_filters_name_their_parameter(raw: object, param: str, message: str) -> None:
    with pytest.raises(InvalidParam, match=message) as caught:
        parse_filters(raw)
    assert caught.value.param == param


def test_the_tool_path_prefixes_the_param() -> None:
    with pytest.raises(InvalidParam) as caught:
        parse_filters({"type": "eq", "key": 3, "value": 1}, "tools[0].filters")
    assert caught.value.param == "tools[0].filters.key"


def test_depth_and_size_are_bounded() -> None:
    deep: dict[str, object] = {"type": "eq", "key": "a", "value": 1}
    for _ in range(20):
        deep = {"type": "and", "filters": [deep]}
    with pytest.raises(InvalidParam, match="nest at most"):
        parse_filters(deep)
    wide = {"type": "or", "filters": [{"type": "eq", "key": "a", "value": i} for i in range(300)]}
    with pytest.raises(InvalidParam, match="at most 256"):
        parse_filters(wide)


ATTRS: dict[str, AttributeValue] = {"s": "beta", "n": 5, "f": 2.5, "b": True, "zero": 0}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "eq", "key": "s", "value": "beta"}, True),
        ({"type": "eq", "key": "n", "value": 5.0}, True),  # numbers compare as numbers
        ({"type": "eq", "key": "b", "value": 1}, False),  # true is not 1
        ({"type": "eq", "key": "zero", "value": False}, False),  # 0 is not false
        ({"type": "ne", "key": "s", "value": "alpha"}, True),
        ({"type": "gt", "key": "s", "value": "alpha"}, True),  # strings by code point
        ({"type": "lt", "key": "s", "value": "alpha"}, False),
        ({"type": "gt", "key": "s", "value": 1}, False),  # a string is not ordered against a number
        ({"type": "gte", "key": "f", "value": 2.5}, True),
        ({"type": "lte", "key": "n", "value": 4}, False),
        ({"type": "gt", "key": "b", "value": 0}, False),  # booleans are not ordered
        ({"type": "in", "key": "n", "value": ["5", 5]}, True),
        ({"type": "nin", "key": "n", "value": ["5", 6]}, True),
        ({"type": "eq", "key": "missing", "value": "x"}, False),
        ({"type": "ne", "key": "missing", "value": "x"}, True),  # a missing key equals nothing
        ({"type": "nin", "key": "missing", "value": ["x"]}, True),
        ({"type": "gt", "key": "missing", "value": 0}, False),
        ({"type": "and", "filters": []}, True),
        ({"type": "or", "filters": []}, False),
    ],
)
def test_matches(raw: object, expected: bool) -> None:
    assert matches(parse_filters(raw), ATTRS) is expected


def test_select_keeps_the_passing_files_in_order() -> None:
    files = [("f1", {"k": 1}), ("f2", {"k": 2}), ("f3", {})]
    assert select(parse_filters({"type": "gte", "key": "k", "value": 1}), files) == ["f1", "f2"]
    assert select(None, files) == ["f1", "f2", "f3"]
