"""Random protobuf messages straight from descriptors, and bytes that are not valid protobuf.

`proto_message(desc)` fills any message: every scalar type at its edges (int32/int64 limits, NaN and
infinities for doubles), strings of any valid Unicode, one case per oneof, maps, repeated fields,
`google.protobuf.Struct` from JSON, nested messages to a bounded depth. `garbage()` makes request
bytes for `channel.unary_unary(method)` without a serializer: random bytes, truncated and
wrong-wire-type encodings, invalid UTF-8 in string fields, varints too long, groups nested deeper
than protobuf's recursion limit.
"""

from __future__ import annotations

import math

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from tests.fuzz.values import ODD_STRINGS, json_value

MAX_DEPTH = 6
F = FieldDescriptor

_INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
_VALID_ODD = tuple(s for s in ODD_STRINGS if not any(0xD800 <= ord(c) <= 0xDFFF for c in s))


def _int(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [v for v in (0, 1, -1, 16, 20, 21, 100, 101, low, high, low + 1, high - 1) if low <= v <= high]
    return st.one_of(
        st.sampled_from(edges),
        st.integers(0, 1000).filter(lambda v: low <= v <= high),
        st.integers(low, high),
    )


def valid_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_VALID_ODD), st.text(max_size=30), st.just("m"))


def _struct_json() -> st.SearchStrategy[object]:
    storable = json_value().filter(lambda v: not _unstorable(v))
    return st.dictionaries(st.text(max_size=8), storable, max_size=4)


def _unstorable(value: object) -> bool:
    """A Struct cannot hold it: a non-finite number, or a string with a lone surrogate."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def _scalar(fd: FieldDescriptor) -> st.SearchStrategy[object]:
    if fd.type in _INT_RANGES:
        return _int(*_INT_RANGES[fd.type])
    if fd.type == F.TYPE_DOUBLE:
        return st.one_of(st.floats(), st.sampled_from((0.0, 2.0, 1e308, math.nan, math.inf)))
    if fd.type == F.TYPE_FLOAT:
        return st.floats(width=32)
    if fd.type == F.TYPE_BOOL:
        return st.booleans()
    if fd.type == F.TYPE_BYTES:
        return st.binary(max_size=40)
    if fd.type == F.TYPE_ENUM:
        assert fd.enum_type is not None
        return st.one_of(st.sampled_from([v.number for v in fd.enum_type.values]), st.integers(-5, 100))
    return valid_text()


@st.composite
def _fill(draw: st.DrawFn, msg: Message, depth: int) -> Message:
    desc = msg.DESCRIPTOR
    if desc.full_name == "google.protobuf.Struct":
        json_format.ParseDict(draw(_struct_json()), msg)
        return msg
    chosen_oneofs: set[str] = set()
    for fd in desc.fields:
        oneof = fd.containing_oneof
        if oneof is not None and oneof.name in chosen_oneofs:
            continue
        if draw(st.integers(0, 99)) < 60 or (depth >= MAX_DEPTH and fd.type == F.TYPE_MESSAGE):
            continue
        if oneof is not None:
            chosen_oneofs.add(oneof.name)
        _set_field(draw, msg, fd, depth)
    return msg


def _set_field(draw: st.DrawFn, msg: Message, fd: FieldDescriptor, depth: int) -> None:
    mt = fd.message_type
    if mt is not None and mt.GetOptions().map_entry:
        key_fd, value_fd = mt.fields_by_name["key"], mt.fields_by_name["value"]
        container = getattr(msg, fd.name)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(_scalar(key_fd))
            if value_fd.message_type is not None:
                draw(_fill(container[key], depth + 1))
            else:
                container[key] = draw(_scalar(value_fd))
        return
    if fd.is_repeated:
        container = getattr(msg, fd.name)
        for _ in range(draw(st.integers(0, 3))):
            if mt is not None:
                draw(_fill(container.add(), depth + 1))
            else:
                container.append(draw(_scalar(fd)))
        return
    if mt is not None:
        sub = getattr(msg, fd.name)
        sub.SetInParent()
        draw(_fill(sub, depth + 1))
        return
    setattr(msg, fd.name, draw(_scalar(fd)))


@st.composite
def proto_message(draw: st.DrawFn, desc: Descriptor) -> Message:
    """A random message of this type, any field set to anything its type allows."""
    return draw(_fill(GetMessageClass(desc)(), 0))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _tag(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


@st.composite
def _crafted(draw: st.DrawFn) -> bytes:
    field = draw(st.sampled_from((1, 2, 3, 5, 7, 9, 10, 15, 19, 24, 536870911)))
    kind = draw(
        st.sampled_from(("bad_utf8", "long_varint", "truncated", "wire_type", "groups", "length", "nested"))
    )
    if kind == "bad_utf8":
        junk = draw(st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"a\x80b", b"\xf4\x90\x80\x80")))
        return _tag(field, 2) + _varint(len(junk)) + junk
    if kind == "long_varint":
        return _tag(field, 0) + b"\xff" * draw(st.integers(10, 20)) + b"\x01"
    if kind == "truncated":
        return _tag(field, 2) + _varint(draw(st.integers(1, 2**31)))
    if kind == "wire_type":
        return _tag(field, draw(st.sampled_from((1, 3, 4, 5, 6, 7)))) + b"\x00" * draw(st.integers(0, 8))
    if kind == "groups":
        depth = draw(st.sampled_from((50, 99, 100, 101, 1000, 10_000)))
        return _tag(field, 3) * depth + _tag(field, 4) * depth
    if kind == "length":
        return _tag(field, 2) + b"\xff\xff\xff\xff\x0f" + b"x" * 10
    # length-delimited submessages nested `depth` deep in field 2 (Input, params, ...)
    depth = draw(st.sampled_from((10, 64, 100, 101, 200)))
    inner = b""
    for _ in range(depth):
        inner = _tag(2, 2) + _varint(len(inner)) + inner
    return inner


def garbage() -> st.SearchStrategy[bytes]:
    """Bytes a protobuf parser should refuse (or, by chance, accept as some odd message)."""
    return st.one_of(
        st.binary(min_size=1, max_size=64),
        st.binary(min_size=500, max_size=4000),
        _crafted(),
        st.lists(_crafted(), min_size=2, max_size=5).map(b"".join),
    )
