"""What the OpenAI JSON codec knows about each proto message, read once from its descriptor.

Conventions of our protos (STYLE.md 1.3):
- A message with a real oneof is a *union*. JSON shows only the chosen case: a scalar case as the
  bare scalar, a *list wrapper* case (a message whose only field is repeated) as the bare array, and
  a message case as a flat object with a `type` key (the case name or its `openai_type` option)
  beside the case's own fields. Fields of the union outside the oneof (an event's
  `sequence_number`) render beside them too.
- Any other message is a plain object keyed by field name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from rejoinder.responses.v1 import options_pb2

STRUCT = "google.protobuf.Struct"


class Kind(Enum):
    """How one field is written in JSON."""

    STRING = auto()
    BOOL = auto()
    INT = auto()
    FLOAT = auto()
    BYTES = auto()
    MESSAGE = auto()
    STRUCT = auto()
    JSON_TEXT = auto()
    JSON_VALUE_TEXT = auto()


_SCALAR_KINDS = {
    FieldDescriptor.TYPE_STRING: Kind.STRING,
    FieldDescriptor.TYPE_BOOL: Kind.BOOL,
    FieldDescriptor.TYPE_DOUBLE: Kind.FLOAT,
    FieldDescriptor.TYPE_FLOAT: Kind.FLOAT,
    FieldDescriptor.TYPE_BYTES: Kind.BYTES,
}


@dataclass(frozen=True)
class FieldPlan:
    """One field: its JSON key, kind and shape."""

    name: str
    descriptor: FieldDescriptor
    kind: Kind
    repeated: bool
    is_map: bool
    has_presence: bool
    omit_unset: bool
    message: Descriptor | None
    map_value: FieldDescriptor | None
    plain: bool = False  # written as the value itself: a scalar that is not JSON text
    null_when_empty: bool = False  # a repeated field that prints null, not [], when empty
    single_message: bool = False  # one message (not repeated, not a map, not a Struct)


@dataclass
class MessagePlan:
    """One message: its fields, and for a union the cases by wire `type`."""

    descriptor: Descriptor
    cls: type[Message]
    fields: dict[str, FieldPlan] = field(default_factory=dict)
    oneof: OneofDescriptor | None = None
    cases_by_type: dict[str, FieldPlan] = field(default_factory=dict)
    type_by_case: dict[str, str] = field(default_factory=dict)
    untyped_cases: frozenset[str] = frozenset()
    default_type: str | None = None
    scalar_case: FieldPlan | None = None
    list_case: FieldPlan | None = None
    common: tuple[FieldPlan, ...] = ()
    case_names: frozenset[str] = frozenset()  # the fields of the oneof
    list_item: FieldPlan | None = None
    object_type: str | None = None
    template: dict[str, object] = field(default_factory=dict)
    containers: tuple[tuple[str, bool], ...] = ()


_NOT_PLAIN = (Kind.MESSAGE, Kind.STRUCT, Kind.JSON_TEXT, Kind.JSON_VALUE_TEXT)


def _option(options: Message, extension: FieldDescriptor) -> Any:
    """A custom option's value (protobuf's stubs don't type generated extensions)."""
    ext: Any = extension
    return options.Extensions[ext]


def _kind(fd: FieldDescriptor) -> Kind:
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return (
            Kind.STRUCT
            if fd.message_type is not None and fd.message_type.full_name == STRUCT
            else Kind.MESSAGE
        )
    return _SCALAR_KINDS.get(fd.type, Kind.INT)


def _is_map(fd: FieldDescriptor) -> bool:
    mt = fd.message_type
    return fd.is_repeated and mt is not None and mt.GetOptions().map_entry


def field_plan(fd: FieldDescriptor) -> FieldPlan:
    """Read one field's JSON shape from its descriptor."""
    is_map = _is_map(fd)
    kind = _kind(fd)
    if kind is Kind.STRING and _option(fd.GetOptions(), options_pb2.openai_json):
        kind = Kind.JSON_TEXT
    elif kind is Kind.STRING and _option(fd.GetOptions(), options_pb2.openai_json_value):
        kind = Kind.JSON_VALUE_TEXT
    return FieldPlan(
        name=fd.name,
        descriptor=fd,
        kind=kind,
        plain=not fd.is_repeated and kind not in _NOT_PLAIN,
        single_message=not fd.is_repeated and kind is Kind.MESSAGE,
        repeated=fd.is_repeated and not is_map,
        is_map=is_map,
        has_presence=fd.has_presence and not fd.is_repeated,
        omit_unset=bool(_option(fd.GetOptions(), options_pb2.openai_omit_unset)),
        null_when_empty=bool(_option(fd.GetOptions(), options_pb2.openai_null_when_empty)),
        message=fd.message_type if kind in (Kind.MESSAGE, Kind.STRUCT) and not is_map else None,
        map_value=fd.message_type.fields_by_name["value"] if is_map and fd.message_type is not None else None,
    )


def real_oneof(desc: Descriptor) -> OneofDescriptor | None:
    """The message's one real (not proto3-optional) oneof, if any."""
    for oneof in desc.oneofs:
        synthetic = oneof.name.startswith("_") and len(oneof.fields) == 1
        if not synthetic:
            return oneof
    return None


def list_item(desc: Descriptor) -> FieldDescriptor | None:
    """The repeated field of a list wrapper message, else None."""
    if len(desc.fields) == 1 and desc.fields[0].is_repeated and not _is_map(desc.fields[0]):
        return desc.fields[0]
    return None


def _fill_template(plan: MessagePlan) -> None:
    """What a message prints when nothing is set: OpenAI prints every key (`null`, `[]`, `{}`, zero),
    except `openai_omit_unset` ones. Lists and maps are made fresh per message (`containers`)."""
    if plan.object_type is not None:
        plan.template["type"] = plan.object_type
    containers: list[tuple[str, bool]] = []
    for fp in plan.fields.values():
        if fp.repeated or fp.is_map:
            plan.template[fp.name] = None
            if not fp.null_when_empty:
                containers.append((fp.name, fp.is_map))
        elif fp.has_presence:
            if not fp.omit_unset:
                plan.template[fp.name] = None
        else:
            plan.template[fp.name] = fp.descriptor.default_value
    plan.containers = tuple(containers)


def build_plan(desc: Descriptor) -> MessagePlan:
    """Everything the codec needs to read and write messages of this type."""
    plan = MessagePlan(descriptor=desc, cls=GetMessageClass(desc))
    plan.object_type = str(_option(desc.GetOptions(), options_pb2.openai_object_type)) or None
    plan.fields = {fd.name: field_plan(fd) for fd in desc.fields}
    _fill_template(plan)
    wrapped = list_item(desc)
    plan.list_item = field_plan(wrapped) if wrapped is not None else None
    oneof = real_oneof(desc)
    if oneof is None:
        return plan
    plan.oneof = oneof
    default = str(_option(oneof.GetOptions(), options_pb2.openai_default_type))
    plan.default_type = default or None
    untyped: set[str] = set()
    for fd in oneof.fields:
        fp = plan.fields[fd.name]
        if fp.kind is not Kind.MESSAGE:
            plan.scalar_case = fp
            continue
        if fd.message_type is not None and list_item(fd.message_type) is not None:
            plan.list_case = fp
            continue
        opts = fd.GetOptions()
        wire_type = str(_option(opts, options_pb2.openai_type) or fd.name)
        plan.cases_by_type[wire_type] = fp
        plan.type_by_case[fd.name] = wire_type
        if _option(opts, options_pb2.openai_untyped):
            untyped.add(fd.name)
    plan.untyped_cases = frozenset(untyped)
    plan.case_names = frozenset(fd.name for fd in oneof.fields)
    plan.common = tuple(fp for name, fp in plan.fields.items() if name not in plan.case_names)
    return plan
