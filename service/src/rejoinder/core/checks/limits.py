"""What one request may hold (`[limits]`): input items, tools, characters per string.

The REST edge checks the counts on the parsed JSON before decoding it (`check_count`) and the codec checks
each string as it reads it. `validate` checks the counts of every request (`check_counts`); the typed gRPC
servicer checks the strings of what grpc decoded (`check_strings`). Errors are OpenAI's:
`array_above_max_length` and `string_above_max_length`, naming the parameter and the limit.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rejoinder.config_limits import RequestLimits
from rejoinder.errors import too_long, too_many
from rejoinder.pacing import Steps
from rejoinder.responses.v1 import options_pb2
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.json_body import check_depth, may_nest_too_deep


def check_count(count: int, most: int, param: str) -> None:
    """Raises OpenAI's 400 when an array has more than `most` elements."""
    if count > most:
        raise too_many(count, most, param)


QUICK_BYTES = 256 * 1024
"""The largest typed request whose strings are cleared from its serialized bytes (about 0.1 ms)."""

_OTHER, _STRING, _JSON_STRING, _MESSAGE = range(4)


@functools.cache
def _field_kind(fd: FieldDescriptor) -> int:
    """What `_strings` does with a field: nothing, check a string (that may hold JSON), or walk a message.
    Read once per field: its options are slow to read."""
    if fd.type == FieldDescriptor.TYPE_STRING:
        return _JSON_STRING if _holds_json(fd) else _STRING
    if fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
        return _MESSAGE
    return _OTHER


def _strings(msg: Message, path: str, most: int) -> Steps[None]:
    """The strings of `msg` and of the messages in it, a step per element of a list of messages."""
    for fd, value in msg.ListFields():
        kind = _field_kind(fd)
        if kind == _MESSAGE:
            where = _where(path, fd)
            if not fd.is_repeated:
                yield from _strings(value, where, most)
                continue
            for n, child in enumerate(value):
                yield from _strings(child, f"{where}[{n}]", most)
                yield
        elif kind != _OTHER:
            _texts(fd, kind, value, path, most)


def _texts(fd: FieldDescriptor, kind: int, value: Any, path: str, most: int) -> None:
    """A string field's values are no longer than `most` (and JSON text no deeper than a body may be)."""
    for text in value if fd.is_repeated else (value,):
        if len(text) > most:
            raise too_long(len(text), most, _where(path, fd))
        if kind == _JSON_STRING:
            _json_depth(text, _where(path, fd))


def _where(path: str, fd: FieldDescriptor) -> str:
    """The parameter `fd` is, inside the message at `path` ("" at the top)."""
    return f"{path}.{fd.name}" if path else fd.name


def _holds_json(fd: FieldDescriptor) -> bool:
    """A string field that holds JSON text (a schema, a tool's parameters): an object on the REST wire."""
    options: Any = fd.GetOptions()
    return bool(
        options.Extensions[options_pb2.openai_json] or options.Extensions[options_pb2.openai_json_value]
    )


def _json_depth(text: str, param: str) -> None:
    """JSON text is no deeper than a REST body may be (deeper is not sent on, nor stored)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return  # the checks of the field's own meaning say what is wrong with it
    check_depth(value, param)


def check_counts(req: CreateRequest, limits: RequestLimits) -> None:
    """The request's items and tools are not too many."""
    if req.input.WhichOneof("input") == "items":
        check_count(len(req.input.items.items), limits.max_input_items, "input")
    check_count(len(req.tools), limits.max_tools, "tools")


def check_strings(msg: Message, limits: RequestLimits) -> Steps[None]:
    """No string of a typed request is too long (the REST codec checks them as it reads the JSON).

    A request of up to `QUICK_BYTES` is cleared at once when its wire bytes allow no error: none of its
    strings can be longer than the whole request, nor JSON text nest deeper than the brackets it holds."""
    most = limits.max_string_chars
    if msg.ByteSize() <= min(most, QUICK_BYTES) and not may_nest_too_deep(msg.SerializeToString()):
        return
    yield from _strings(msg, "", most)
