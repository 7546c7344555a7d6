"""Hostile JSON values: edge numbers, odd and huge strings, deep nesting, wrong types.

Shared by the descriptor-derived body strategies (`shapes.py`) and the mutations (`mutate.py`).
Sizes are bounded so that one request body stays under `MAX_BODY_BYTES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import strategies as st

MAX_BODY_BYTES = 2 * 1024 * 1024
HUGE_STRING = 100_000
DEEP_LEVELS = (
    50,
    98,
    99,
    100,
    101,
    127,
    128,
    200,
    250,
    251,
    252,
    253,
    254,
    255,
    256,
    500,
    999,
    1000,
    1023,
    1024,
    1025,
    2000,
)

EDGE_INTS = (
    0, 1, -1, 2, 15, 16, 20, 21, 100, 101, 127, 128, 255, 256, 10_000, 10_001, 65_535, 65_536,
    2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32, 2**53, 2**53 + 1, 2**63 - 1, 2**63,
    -(2**63), -(2**63) - 1, 2**64, 10**30, -(10**30),
)  # fmt: skip
EDGE_FLOATS = (
    0.0, -0.0, 0.5, 1.5, -1.5, 1e-308, 5e-324, 1e308, -1e308, 1.7976931348623157e308, 2.000001,
    1.0000001, 0.1, 3.14159, 1e16, 2.0**63, float(2**53 + 1),
)  # fmt: skip
NAN_LIKE_STRINGS = ("NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "-0", "0x10", "1_000", "٣")
NON_FINITE = (math.nan, math.inf, -math.inf)  # dumped as bare NaN/Infinity: not JSON at all

# Strings that have broken parsers, loggers, SQL, SSE framing and URL routing.
ODD_STRINGS = (
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "a\ud800b", "\ud83d", "\ud83d\ude00",
    "\u202e\u0645\u0631\u062d\u0628\u0627 RTL", "\u200b\u200c\u200d\ufeff", "😀" * 5, "👨‍👩‍👧‍👦",
    "\n", "\r\n", "data: [DONE]\n\n", "event: error\ndata: {}\n\n", "\u2028\u2029", "\x1b[31m",
    "'; DROP TABLE responses; --", "%s%s%n", "{{7*7}}", "${jndi:x}", "../../etc/passwd", "%00",
    "%2F", "/", "\\", '"', "null", "true", "0", "[]", "{}", "resp_", "msg_", "conv_", "fc_",
    "\U0010ffff", "\ufffd", "İı", "ß", "ﬀ", "A" * 65, "x" * 513, "\t" * 10,
)  # fmt: skip


def _text_char() -> st.SearchStrategy[str]:
    return st.characters(codec=None, exclude_categories=())  # every code point, surrogates included


def odd_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Short strings over all of Unicode, lone surrogates included, plus the classic odd ones."""
    return st.one_of(
        st.sampled_from(ODD_STRINGS),
        st.text(alphabet=_text_char(), max_size=max_size),
        st.text(max_size=max_size),
    )


@st.composite
def huge_text(draw: st.DrawFn) -> str:
    """One string of 1,000 to 100,000 characters, built by repetition (cheap to generate)."""
    size = draw(st.sampled_from((1_000, 2_049, 10_000, 65_536, HUGE_STRING)))
    unit = draw(st.sampled_from(("x", "é", "😀", "\x00", "\\", '"', "\ud800", "ab\n", "<>&")))
    return (unit * size)[:size]


def any_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Mostly short odd strings, sometimes a huge one."""
    return st.one_of(odd_text(max_size), odd_text(max_size), odd_text(max_size), huge_text())


def edge_number() -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from(EDGE_INTS),
        st.sampled_from(EDGE_FLOATS),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
    )


_DEEP_OPEN = {
    "object": ('{"a":', "}"),
    "array": ("[", "]"),
    "schema": ('{"type":"object","properties":{"p":', "}}"),
}


@dataclass(frozen=True)
class Deep:
    """A JSON value nested `levels` deep, kept symbolic: Python's json module (and recursion) would
    choke on 2,000 levels, so `wire.dumps` writes it as text and `materialize` builds it iteratively."""

    levels: int
    kind: str  # "object" ({"a": ...}), "array" ([...]) or "schema" ({"type":"object","properties":{"p":...}})
    leaf: int | str | None = 1

    def text(self) -> str:
        opening, closing = _DEEP_OPEN[self.kind]
        leaf = (
            "null"
            if self.leaf is None
            else (f'"{self.leaf}"' if isinstance(self.leaf, str) else str(self.leaf))
        )
        return opening * self.levels + leaf + closing * self.levels

    def build(self) -> object:
        value: object = self.leaf
        for _ in range(self.levels):
            if self.kind == "array":
                value = [value]
            elif self.kind == "schema":
                value = {"type": "object", "properties": {"p": value}}
            else:
                value = {"a": value}
        return value


@st.composite
def deep_json(draw: st.DrawFn) -> Deep:
    levels = draw(st.sampled_from(DEEP_LEVELS))
    kind = draw(st.sampled_from(("object", "array", "schema")))
    return Deep(levels, kind, draw(st.sampled_from((1, "x", None))))


def json_leaf() -> st.SearchStrategy[object]:
    return st.one_of(st.none(), st.booleans(), edge_number(), odd_text(20))


def _containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(odd_text(10), inner, max_size=4))


def json_value(max_leaves: int = 12) -> st.SearchStrategy[object]:
    """Arbitrary (valid) JSON."""
    return st.recursive(json_leaf(), _containers, max_leaves=max_leaves)


def json_object() -> st.SearchStrategy[dict[str, object]]:
    return st.dictionaries(odd_text(10), json_value(8), max_size=5)


def json_schema() -> st.SearchStrategy[object]:
    """Plausible JSON schemas (function `parameters`, `text.format.schema`), sometimes absurd ones."""
    prop = st.fixed_dictionaries(
        {"type": st.sampled_from(("string", "integer", "number", "boolean", "object", "array", "null"))},
        optional={"description": odd_text(20), "enum": st.lists(json_leaf(), max_size=3)},
    )
    plausible = st.fixed_dictionaries(
        {"type": st.just("object"), "properties": st.dictionaries(odd_text(12), prop, max_size=4)},
        optional={
            "required": st.lists(odd_text(12), max_size=3),
            "additionalProperties": st.booleans(),
        },
    )
    return st.integers(0, 5).flatmap(lambda n: (json_object(), deep_json())[n - 4] if n >= 4 else plausible)


def wild_value() -> st.SearchStrategy[object]:
    """A replacement for any value in a request: wrong types, edges, null, deep or huge."""
    return st.one_of(
        st.none(),
        st.booleans(),
        edge_number(),
        st.sampled_from(NAN_LIKE_STRINGS),
        st.sampled_from(NON_FINITE),
        odd_text(),
        huge_text(),
        st.just([]),
        st.just({}),
        st.just([None]),
        st.just({"type": None}),
        json_value(),
        deep_json(),
    )
