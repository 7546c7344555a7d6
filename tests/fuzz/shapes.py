"""Hypothesis strategies for OpenAI JSON request bodies, derived from the proto descriptors.

Nothing here lists the API's fields. `Shapes.body(CreateRequest.DESCRIPTOR)` walks the codec's own plan
(`OpenAIJson.plan`, i.e. `wire/plan.py` `build_plan`): every field under its JSON name, field
kinds (string, int, float, bool, Struct, JSON text, maps, repeated), string-or-array unions (the scalar
case or the list wrapper's bare array) and discriminated unions (`cases_by_type`, with `type`
omitted for untyped cases and sometimes for the `default_type`). `google.api.field_behavior` says
which fields are REQUIRED (always drawn) and which are OUTPUT_ONLY (never drawn).

Where the codec only knows "a string", the allowed values come from the service's validation
constants (roles, efforts, includable paths, tool choice modes, name patterns), so most bodies get
past validation and reach the orchestrator; every other string is odd text. URLs only ever point at
127.0.0.1 ports where nothing listens, or at a denied host: the service fetches `file_url` and
connects to MCP `server_url`, and a fuzz run must not reach out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor
from hypothesis import strategies as st

from rejoinder.core.checks import items as validate_items
from rejoinder.core.checks import tools as validate_tools
from rejoinder.core.checks import validation
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.plan import FieldPlan, Kind, MessagePlan
from tests.fuzz.mutate import make_safe
from tests.fuzz.values import any_text, edge_number, json_object, json_schema, json_value, odd_text
from tests.pdf_fixture import pdf_with_text

MAX_DEPTH = 8
ODD_IN = 10  # one base value in about ten is odd; the mutations break the rest
REQUIRED = field_behavior_pb2.REQUIRED
OUTPUT_ONLY = field_behavior_pb2.OUTPUT_ONLY

# How often an optional field is present, in percent: small messages get most of theirs, the
# 33-field CreateRequest about five. A few parameters that steer the whole run are drawn more often.
_SMALL_MESSAGE_FIELDS = 6
_EMPHASIS = {"input": 100, "stream": 45, "tools": 30, "background": 15, "store": 20, "items": 85}
# What the README lists as not supported (a 400 naming it): drawn rarely, so that most bodies get
# further than that check.
_RARE_FIELDS = {"prompt": 3, "context_management": 3, "moderation": 3, "connector_id": 5}
_RARE_CASES = {"custom", "file_search", "web_search", "web_search_preview"}

_ENUM_STRINGS: dict[str, tuple[str, ...]] = {
    "role": validate_items.ROLES,
    "detail": validate_items.IMAGE_DETAIL,
    "truncation": validation.TRUNCATION,
    "service_tier": validation.SERVICE_TIERS,
    "effort": validation.EFFORTS,
    "summary": validation.SUMMARIES,
    "generate_summary": validation.SUMMARIES,
    "verbosity": validation.VERBOSITY,
    "include": validation.INCLUDABLE,
    "mode": (*validate_tools.TOOL_CHOICE_MODES, "always", "never"),
    "status": ("in_progress", "completed", "incomplete"),
    "phase": ("commentary", "final_answer"),
    "order": ("asc", "desc"),
    "prompt_cache_retention": ("in-memory", "24h"),
}
_NAMES = ("name", "server_label", "filename")
_JSON_ARGUMENTS = ("arguments",)
_URLS = ("server_url", "file_url", "image_url", "url")


@dataclass(frozen=True)
class Env:
    """What the running service knows: model names, ids that exist, URLs that fail fast."""

    models: tuple[str, ...]
    closed_url: str  # http://127.0.0.1:PORT/ where nothing listens
    denied_url: str  # a host the MCP policy denies
    ids: tuple[str, ...] = ()

    def safe(self, value: object) -> object:
        """`value` with every URL that is not one of ours pointing where nothing listens."""
        ours = frozenset({self.closed_url, self.closed_url + "x.pdf", self.denied_url})
        return make_safe(value, self.closed_url, ours)


def behaviors(plan_field: FieldPlan) -> list[int]:
    return list(plan_field.descriptor.GetOptions().Extensions[field_behavior_pb2.field_behavior])


@st.composite
def _mostly(draw: st.DrawFn, good: st.SearchStrategy[object], odd: st.SearchStrategy[object]) -> object:
    """`good`, and about once in ODD_IN (before hypothesis' own bias to small integers) `odd`.
    (`one_of` would not do: it picks about evenly among distinct branches, whatever the repeats.)"""
    return draw(odd) if draw(st.integers(0, ODD_IN - 1)) == ODD_IN - 1 else draw(good)


def _data_url(mime: str, raw: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


@st.composite
def _mangled_pdf(draw: st.DrawFn) -> bytes:
    """A real one-page PDF with a few bytes flipped, cut or repeated (pypdf's edge cases)."""
    raw = bytearray(pdf_with_text(draw(st.sampled_from(("hello", "x" * 300, "(\\)", "é")))))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(raw) - 1))
        op = draw(st.sampled_from(("flip", "cut", "dup", "zero")))
        if op == "flip":
            raw[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del raw[at:]
            if not raw:
                raw += b"%PDF"
        elif op == "dup":
            raw[at:at] = raw[at : at + 200] * draw(st.integers(1, 20))
        else:
            raw[at : at + 8] = b"0" * 8
    return bytes(raw)


def _file_data() -> st.SearchStrategy[object]:
    return st.one_of(
        _mangled_pdf().map(lambda b: _data_url("application/pdf", b)),
        st.binary(max_size=64).map(lambda b: _data_url("application/pdf", b"%PDF-1.4\n" + b)),
        st.text(max_size=50).map(lambda t: _data_url("text/plain", t.encode())),
        st.binary(max_size=64).map(lambda b: _data_url("application/octet-stream", b)),
        st.sampled_from(("data:", "data:;base64,", "data:text/plain;base64,@@@", "not base64", "")),
    )


_PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Shapes:
    """Strategies for the OpenAI JSON of any request message, built once per message type."""

    def __init__(self, env: Env, codec: OpenAIJson | None = None) -> None:
        self.env = env
        self.codec = codec or OpenAIJson()
        self._cache: dict[tuple[str, int], st.SearchStrategy[object]] = {}

    def body(self, desc: Descriptor | Any) -> st.SearchStrategy[dict[str, object]]:
        """A valid-ish JSON object for a request message (`CreateRequest`, conversation requests)."""
        return self.message(desc, 0)  # type: ignore[return-value]

    def message(self, desc: Descriptor | Any, depth: int) -> st.SearchStrategy[object]:
        key = (desc.full_name, depth)
        found = self._cache.get(key)
        if found is None:
            plan = self.codec.plan(desc)
            found = self._union(plan, depth) if plan.oneof is not None else self._object(plan, depth)
            self._cache[key] = found
        return found

    # ---- messages -------------------------------------------------------------------------

    def _object(self, plan: MessagePlan, depth: int) -> st.SearchStrategy[object]:
        fields = [fp for fp in plan.fields.values() if OUTPUT_ONLY not in behaviors(fp)]
        if depth >= MAX_DEPTH:
            fields = [fp for fp in fields if REQUIRED in behaviors(fp)]
        strategies = {fp.name: self.field(fp, depth + 1) for fp in fields}
        required = {fp.name for fp in fields if REQUIRED in behaviors(fp)}
        base = 60 if len(fields) <= _SMALL_MESSAGE_FIELDS else 15
        chance = {name: _RARE_FIELDS.get(name, _EMPHASIS.get(name, base)) for name in strategies}
        object_type = plan.object_type

        @st.composite
        def draw_object(draw: st.DrawFn) -> dict[str, object]:
            out: dict[str, object] = {}
            if object_type is not None and draw(st.integers(0, 9)) < 9:
                out["type"] = object_type
            for name, strategy in strategies.items():
                # 0 (where shrinking goes) leaves an optional field out.
                if name in required or chance[name] >= 100 or draw(st.integers(0, 99)) >= 100 - chance[name]:
                    out[name] = draw(strategy)
            return out

        return draw_object()

    def _union(self, plan: MessagePlan, depth: int) -> st.SearchStrategy[object]:
        forms: list[st.SearchStrategy[object]] = []
        if plan.scalar_case is not None:
            forms.append(self.string(plan.scalar_case.name))
        if plan.list_case is not None and plan.list_case.message is not None:
            wrapper = self.codec.plan(plan.list_case.message)
            if wrapper.list_item is not None:
                forms.append(self.field(wrapper.list_item, depth + 1))
        rare: list[st.SearchStrategy[object]] = []
        if depth < MAX_DEPTH:
            for wire_type, fp in plan.cases_by_type.items():
                (rare if wire_type in _RARE_CASES else forms).append(
                    self._typed_case(plan, wire_type, fp, depth)
                )
        if not forms and not rare:  # only typed cases, and too deep: the first case with nothing but its type
            forms.append(st.just({"type": next(iter(plan.cases_by_type))}))
        if not forms or not rare:
            return st.one_of(forms or rare)
        return _mostly(st.one_of(forms), st.one_of(rare))

    def _typed_case(
        self, plan: MessagePlan, wire_type: str, fp: FieldPlan, depth: int
    ) -> st.SearchStrategy[object]:
        assert fp.message is not None
        inner = self.message(fp.message, depth + 1)
        common = {c.name: self.field(c, depth + 1) for c in plan.common}
        untyped = fp.name in plan.untyped_cases
        may_omit = untyped or wire_type == plan.default_type

        @st.composite
        def draw_case(draw: st.DrawFn) -> object:
            value = draw(inner)
            out: dict[str, object] = {}
            if not (may_omit and draw(st.booleans())):
                out["type"] = wire_type
            if isinstance(value, dict):
                out.update({k: v for k, v in value.items() if k != "type"})
            for name, strategy in common.items():
                if draw(st.booleans()):
                    out[name] = draw(strategy)
            return out

        return draw_case()

    # ---- fields ---------------------------------------------------------------------------

    def field(self, fp: FieldPlan, depth: int) -> st.SearchStrategy[object]:
        if fp.is_map:
            value = self._map_value(fp, depth)
            keys = st.one_of(st.sampled_from(("topic", "user_id", "a")), odd_text(20))
            return st.one_of(
                st.dictionaries(keys, value, max_size=4),
                st.dictionaries(st.text(min_size=1, max_size=8), value, min_size=15, max_size=20),
            )
        one = self._one(fp, depth)
        if fp.repeated:
            return st.one_of(
                st.lists(one, min_size=1, max_size=3),
                st.lists(one, min_size=1, max_size=3),
                st.lists(one, max_size=12),
            )
        return one

    def _map_value(self, fp: FieldPlan, depth: int) -> st.SearchStrategy[object]:
        assert fp.descriptor.message_type is not None
        entry = self.codec.plan(fp.descriptor.message_type)
        return self._one(entry.fields["value"], depth)

    def _one(self, fp: FieldPlan, depth: int) -> st.SearchStrategy[object]:
        scalars: dict[Kind, Callable[[], st.SearchStrategy[object]]] = {
            Kind.STRING: lambda: self.string(fp.name),
            Kind.BOOL: st.booleans,
            Kind.INT: lambda: self.integer(fp.name),
            Kind.FLOAT: lambda: self.decimal(fp.name),
            Kind.BYTES: lambda: st.binary(max_size=32).map(lambda b: base64.b64encode(b).decode()),
            Kind.STRUCT: lambda: self.json_for(fp.name),
            Kind.JSON_TEXT: lambda: self.json_for(fp.name),
            Kind.JSON_VALUE_TEXT: lambda: json_value(),
        }
        make = scalars.get(fp.kind)
        if make is not None:
            return make()
        assert fp.message is not None
        return self.message(fp.message, depth)

    # ---- scalars --------------------------------------------------------------------------

    def string(self, name: str) -> st.SearchStrategy[object]:
        """Mostly a value the service accepts for a field of this name, else odd text."""
        good = self._good_string(name)
        return _mostly(good, any_text())

    def _good_string(self, name: str) -> st.SearchStrategy[object]:
        env = self.env
        if name == "model":
            return st.sampled_from(env.models)
        if name in _ENUM_STRINGS:
            return st.sampled_from(_ENUM_STRINGS[name])
        if name in _NAMES:
            return st.from_regex(validate_tools.FUNCTION_NAME, fullmatch=True)
        if name in _JSON_ARGUMENTS:
            return st.one_of(json_object().map(json.dumps), st.just("{}"), odd_text(10))
        if name == "file_data":
            return _file_data()
        if name in _URLS:
            pixel = _data_url("image/png", _PNG_1PX)
            return st.sampled_from((env.closed_url, env.closed_url + "x.pdf", env.denied_url, pixel))
        if name == "id" or name.endswith("_id"):
            return self.identifier()
        return st.one_of(st.sampled_from(("hi", "Hello there!", "What is 2+2?")), st.text(max_size=30))

    def identifier(self) -> st.SearchStrategy[object]:
        prefixes = ("resp_", "msg_", "fc_", "rs_", "mcp_", "mcpr_", "conv_", "item_", "file-")
        made_up = st.tuples(st.sampled_from(prefixes), st.text(max_size=24)).map("".join)
        known = st.sampled_from(self.env.ids) if self.env.ids else made_up
        return st.one_of(known, known, made_up)

    def integer(self, name: str) -> st.SearchStrategy[object]:
        plausible = {
            "max_output_tokens": st.integers(16, 4096),
            "max_tool_calls": st.integers(1, 8),
            "top_logprobs": st.integers(0, 20),
            "limit": st.integers(1, 100),
        }.get(name, st.integers(0, 1000))
        return _mostly(plausible, edge_number())

    def decimal(self, name: str) -> st.SearchStrategy[object]:
        low, high = {"temperature": (0, 2), "top_p": (0, 1)}.get(name, (-2, 2))
        plausible = st.floats(low, high, allow_nan=False)
        return _mostly(plausible, edge_number())

    def json_for(self, name: str) -> st.SearchStrategy[object]:
        if name in ("parameters", "schema", "input_schema"):
            return json_schema()
        return json_object()
