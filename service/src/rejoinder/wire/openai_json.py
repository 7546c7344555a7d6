"""OpenAI JSON <-> proto messages, from the proto descriptors (DESIGN.md section 4).

Writing follows OpenAI's habit of printing every key: an unset optional or message field is `null`
(unless marked `openai_omit_unset`), repeated fields `[]`, maps `{}`, integers are JSON numbers.
Reading accepts both forms of string-or-array unions, treats `null` as unset, ignores unknown keys
(or rejects them in strict mode) and reports a wrong type as a 400 naming the parameter.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from rejoinder.errors import clip, invalid, too_long
from rejoinder.pacing import Steps
from rejoinder.wire.json_values import SCALARS, TOO_DEEP, plain, type_error
from rejoinder.wire.plan import FieldPlan, Kind, MessagePlan, build_plan

M = TypeVar("M", bound=Message)
JsonValue = object

_CONVERTED = (Kind.JSON_TEXT, Kind.JSON_VALUE_TEXT, Kind.STRUCT, Kind.MESSAGE)  # not written as they are
CHUNK = 256
"""Array elements copied into a message in one go (about 0.1 ms)."""
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INT32_TYPES = {5, 13, 15, 17}  # int32, uint32, sfixed32, sint32


def _join(path: str, key: str) -> str:
    key = clip(key)  # a key is the client's: keep a huge one out of `param` and messages
    return f"{path}.{key}" if path else key


class OpenAIJson:
    """The codec. Plans are read from descriptors once per message type and kept here."""

    def __init__(
        self,
        *,
        strict: bool = False,
        max_string_chars: int | None = None,
        shown: frozenset[str] = frozenset(),
    ) -> None:
        """`strict`: unknown keys are 400s; `max_string_chars`: the longest string a request may hold;
        `shown`: full names of `openai_null_when_empty` fields that print `[]` when empty (see `showing`)."""
        self._plans: dict[object, MessagePlan] = {}  # by descriptor (one object per type; upb or Python)
        self._strict = strict
        self._max_chars = max_string_chars
        self._shown = shown
        self._showing: dict[frozenset[str], OpenAIJson] = {shown: self}

    def showing(self, fields: frozenset[str]) -> OpenAIJson:
        """This codec, but writing the `openai_null_when_empty` fields named in `fields` (full proto
        names) as `[]` when empty: a request's `include` asked for them (core/include.py), so empty
        means none found, not withheld. Kept, one per set."""
        codec = self._showing.get(fields)
        if codec is None:
            codec = OpenAIJson(strict=self._strict, max_string_chars=self._max_chars, shown=fields)
            self._showing[fields] = codec
        return codec

    def plan(self, desc: Descriptor | Any) -> MessagePlan:
        """The cached plan of a message type."""
        plan = self._plans.get(desc)
        if plan is None:
            plan = build_plan(desc)
            if self._shown:
                plan.containers += tuple(
                    (fp.name, False)
                    for fp in plan.fields.values()
                    if fp.null_when_empty and fp.descriptor.full_name in self._shown
                )
            self._plans[desc] = plan
        return plan

    # ---- writing ---------------------------------------------------------------------------

    def encode(self, msg: Message) -> JsonValue:
        """The OpenAI JSON value of a message (an object, or for a union possibly a string/array)."""
        desc = msg.DESCRIPTOR
        plan = self._plans.get(desc) or self.plan(desc)
        if plan.oneof is not None:
            return self._encode_union(msg, plan)
        return self._encode_object(msg, plan)

    def _encode_object(self, msg: Message, plan: MessagePlan) -> dict[str, object]:
        out = plan.template.copy()
        for name, is_map in plan.containers:
            out[name] = {} if is_map else []
        fields = plan.fields
        for fd, value in msg.ListFields():
            fp = fields[fd.name]
            if fp.plain:
                out[fp.name] = value
            elif fp.single_message:  # the commonest of the rest: written by `encode` directly
                out[fp.name] = self.encode(value)
            else:
                out[fp.name] = self._encode_field(fp, value)
        return out

    def _encode_union(self, msg: Message, plan: MessagePlan) -> JsonValue:
        case: FieldPlan | None = None
        case_value: object = None
        common: dict[str, object] = {}
        for fd, value in msg.ListFields():
            fp = plan.fields[fd.name]
            if fp.name in plan.case_names:
                case, case_value = fp, value
            else:
                common[fp.name] = value if fp.plain else self._encode_field(fp, value)
        if case is None:
            return None
        if case is plan.scalar_case:
            return case_value
        assert isinstance(case_value, Message)
        desc = case_value.DESCRIPTOR
        case_plan = self._plans.get(desc) or self.plan(desc)
        if case is plan.list_case:
            inner = case_plan.list_item
            assert inner is not None
            return self._encode_field(inner, self._list_value(case_value))
        out: dict[str, object] = {}
        if case.name not in plan.untyped_cases:
            out["type"] = plan.type_by_case[case.name]
        for fp in plan.common:
            out[fp.name] = common.get(fp.name, fp.descriptor.default_value)
        out.update(self._encode_object(case_value, case_plan))
        return out

    @staticmethod
    def _list_value(wrapper: Message) -> object:
        for _fd, value in wrapper.ListFields():
            return value
        return []

    def _encode_field(self, fp: FieldPlan, value: object) -> object:
        kind = fp.kind
        if fp.repeated:
            if kind is Kind.MESSAGE:
                return [self.encode(v) for v in value]  # type: ignore[attr-defined]
            if kind not in _CONVERTED:
                return list(value)  # type: ignore[call-overload]
            return [self._encode_one(fp, v) for v in value]  # type: ignore[attr-defined]
        if fp.is_map:
            assert fp.map_value is not None
            mv = fp.map_value
            if mv.message_type is None:
                return dict(value)  # type: ignore[call-overload]
            return {k: self.encode(v) for k, v in value.items()}  # type: ignore[attr-defined]
        if kind is Kind.MESSAGE:
            assert isinstance(value, Message)
            return self.encode(value)
        return self._encode_one(fp, value)

    def _encode_one(self, fp: FieldPlan, value: object) -> object:
        if fp.kind in (Kind.JSON_TEXT, Kind.JSON_VALUE_TEXT):
            assert isinstance(value, str)
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                return value
        if fp.kind is Kind.STRUCT:
            assert isinstance(value, Message)
            return plain(json_format.MessageToDict(value))
        if fp.kind is Kind.MESSAGE:
            assert isinstance(value, Message)
            return self.encode(value)
        return value

    # ---- reading ---------------------------------------------------------------------------

    def decode(self, data: object, cls: type[M], *, param: str = "") -> M:
        """Read a message of type `cls` from parsed JSON. Raises `ApiError` (400) on bad input."""
        try:
            msg = self._decode_message(data, self.plan(cls.DESCRIPTOR), param)
        except RecursionError as exc:
            raise invalid(TOO_DEEP, param=param or None, code="invalid_value") from exc
        assert isinstance(msg, cls)
        return msg

    def decode_steps(self, data: dict[str, object], cls: type[M]) -> Steps[M]:
        """`decode` of a JSON object, in steps: its arrays are read one element per step (a request's
        input items), so that a big request can give the event loop turns (see `rejoinder.pacing`)."""
        plan = self.plan(cls.DESCRIPTOR)
        assert plan.oneof is None
        kwargs: dict[str, object] = {}
        big: dict[str, list[object]] = {}  # arrays added to the message a chunk at a time
        for key, value in data.items():
            fp = plan.fields.get(key)
            item = self._list_item(fp) if fp is not None and isinstance(value, list) else None
            if fp is None or item is None or not isinstance(value, list):
                kwargs.update(self._decode_fields({key: value}, plan, "", ()))
                continue
            values = []
            for i, element in enumerate(value):
                values.append(self.decode_one(item, element, f"{key}[{i}]"))
                yield
            if len(values) <= CHUNK:
                kwargs[key] = self._list_value_of(fp, values)
            else:
                big[key] = values
        msg = plan.cls(**kwargs)
        for key, values in big.items():  # a message takes a copy of what it is given: copy in chunks
            for start in range(0, len(values), CHUNK):
                msg.MergeFrom(
                    plan.cls(**{key: self._list_value_of(plan.fields[key], values[start : start + CHUNK])})
                )
                yield
        assert isinstance(msg, cls)
        return msg

    def _list_item(self, fp: FieldPlan) -> FieldPlan | None:
        """The plan of one element of an array field (a repeated field, or a union's list case);
        None for a field that is not an array."""
        if fp.repeated and not fp.is_map:
            return fp
        if fp.message is None:
            return None
        union = self.plan(fp.message)
        if union.list_case is None or union.list_case.message is None:
            return None
        return self.plan(union.list_case.message).list_item

    def _list_value_of(self, fp: FieldPlan, values: list[object]) -> object:
        if fp.repeated:
            return values
        assert fp.message is not None
        union = self.plan(fp.message)
        assert union.list_case is not None and union.list_case.message is not None
        wrapper = self.plan(union.list_case.message)
        assert wrapper.list_item is not None
        return union.cls(**{union.list_case.name: wrapper.cls(**{wrapper.list_item.name: values})})

    def decode_one(self, fp: FieldPlan, value: object, path: str) -> object:
        """One value of field `fp` (one element, for a repeated field)."""
        try:
            return self._decode_one(fp, value, path)
        except RecursionError as exc:
            raise invalid(TOO_DEEP, param=path, code="invalid_value") from exc

    def _decode_message(self, data: object, plan: MessagePlan, path: str) -> Message:
        if plan.oneof is not None:
            return self._decode_union(data, plan, path)
        if not isinstance(data, dict):
            raise type_error(path or "body", "an object", data)
        skip = ("type",) if plan.object_type is not None else ()
        return plan.cls(**self._decode_fields(data, plan, path, skip))

    def _decode_fields(
        self, data: dict[str, object], plan: MessagePlan, path: str, skip: tuple[str, ...]
    ) -> dict[str, object]:
        kwargs: dict[str, object] = {}
        for key, value in data.items():
            if key in skip:
                continue
            fp = plan.fields.get(key)
            if fp is None:
                if self._strict:
                    name = _join(path, key)
                    raise invalid(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
                continue
            if value is not None:
                kwargs[key] = self._decode_field(fp, value, _join(path, key))
        return kwargs

    def _decode_union(self, data: object, plan: MessagePlan, path: str) -> Message:
        if isinstance(data, str) and plan.scalar_case is not None:
            if self._max_chars is not None and len(data) > self._max_chars:
                raise too_long(len(data), self._max_chars, path or "body")
            return plan.cls(**{plan.scalar_case.name: data})
        if isinstance(data, list) and plan.list_case is not None:
            wrapper = self._decode_list_wrapper(data, plan.list_case, path)
            return plan.cls(**{plan.list_case.name: wrapper})
        if isinstance(data, dict) and plan.cases_by_type:
            return self._decode_typed(data, plan, path)
        raise type_error(path or "body", self._expected(plan), data)

    def _decode_list_wrapper(self, data: list[object], case: FieldPlan, path: str) -> Message:
        assert case.message is not None
        wrapper_plan = self.plan(case.message)
        item = wrapper_plan.list_item
        assert item is not None
        values = self._decode_field(item, data, path)
        return wrapper_plan.cls(**{item.name: values})

    def _decode_typed(self, data: dict[str, object], plan: MessagePlan, path: str) -> Message:
        wire_type = data.get("type", plan.default_type)
        type_param = _join(path, "type")
        if wire_type is None:
            raise invalid(
                f"Missing required parameter: '{type_param}'.",
                param=type_param,
                code="missing_required_parameter",
            )
        if not isinstance(wire_type, str):
            raise type_error(type_param, "a string", wire_type)
        case = plan.cases_by_type.get(wire_type)
        if case is None or case.message is None:
            supported = ", ".join(f"'{t}'" for t in plan.cases_by_type)
            raise invalid(
                f"Invalid value: '{clip(wire_type)}'. Supported values are: {supported}.",
                param=type_param,
                code="invalid_value",
            )
        common_names = tuple(fp.name for fp in plan.common)
        case_plan = self.plan(case.message)
        case_msg = case_plan.cls(**self._decode_fields(data, case_plan, path, ("type", *common_names)))
        common = {k: v for k, v in data.items() if k in common_names}
        kwargs = self._decode_fields(common, plan, path, ())
        return plan.cls(**{case.name: case_msg}, **kwargs)

    @staticmethod
    def _expected(plan: MessagePlan) -> str:
        forms = []
        if plan.scalar_case is not None:
            forms.append("a string")
        if plan.list_case is not None:
            forms.append("an array")
        if plan.cases_by_type:
            forms.append("an object")
        return " or ".join(forms) or "an object"

    def _decode_field(self, fp: FieldPlan, value: object, path: str) -> object:
        if fp.is_map:
            return self._decode_map(fp, value, path)
        if fp.repeated:
            if not isinstance(value, list):
                raise type_error(path, "an array", value)
            return [self._decode_one(fp, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return self._decode_one(fp, value, path)

    def _decode_map(self, fp: FieldPlan, value: object, path: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise type_error(path, "an object", value)
        mv = fp.map_value
        assert mv is not None
        value_plan = self._map_value_plan(fp)
        return {
            str(k): self._decode_one(value_plan, v, _join(path, str(k)))
            for k, v in value.items()
            if v is not None
        }

    def _map_value_plan(self, fp: FieldPlan) -> FieldPlan:
        assert fp.map_value is not None and fp.message is None
        assert fp.descriptor.message_type is not None
        entry = self.plan(fp.descriptor.message_type)
        return entry.fields["value"]

    def _decode_one(self, fp: FieldPlan, value: object, path: str) -> object:
        kind = fp.kind
        if kind is Kind.INT:
            return self._decode_int(fp, value, path)
        most = self._max_chars
        if kind is Kind.STRING and most is not None and isinstance(value, str) and len(value) > most:
            raise too_long(len(value), most, path)
        scalar = SCALARS.get(kind)
        if scalar is not None:
            return scalar(value, path)
        assert fp.message is not None
        return self._decode_message(value, self.plan(fp.message), path)

    @staticmethod
    def _decode_int(fp: FieldPlan, value: object, path: str) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise type_error(path, "an integer", value)
        low, high = _INT32 if fp.descriptor.type in _INT32_TYPES else _INT64
        if not low <= value <= high:
            raise invalid(
                f"Invalid '{path}': integer out of range ({value}).",
                param=path,
                code="integer_out_of_range",
            )
        return value
