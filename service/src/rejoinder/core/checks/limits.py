"""What one request may hold (`[limits]`): input items, tools, characters per string.

The REST edge checks the counts on the parsed JSON before decoding it (`check_count`) and the codec checks
each string as it reads it. `validate` checks the counts of every request (`check_counts`); the typed gRPC
servicer checks the strings of what grpc decoded (`check_strings`). Errors are OpenAI's:
`array_above_max_length` and `string_above_max_length`, naming the parameter and the limit.
"""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rejoinder.config_limits import RequestLimits
from rejoinder.errors import too_long, too_many
from rejoinder.pacing import Steps
from rejoinder.responses.v1 import options_pb2
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.json_body import check_depth


def check_count(count: int, most: int, param: str) -> None:
    """Raises OpenAI's 400 when an array has more than `most` elements."""
    if count > most:
        raise too_many(count, most, param)


def _strings(msg: Message, path: str, most: int) -> Steps[None]:
    for fd, value in msg.ListFields():
        where = f"{path}.{fd.name}" if path else fd.name
        repeated = fd.is_repeated
        values = value if repeated else (value,)
        if fd.type == FieldDescriptor.TYPE_STRING:
            json_text = _holds_json(fd)
            for text in values:
                if len(text) > most:
                    raise too_long(len(text), most, where)
                if json_text:
                    _json_depth(text, where)
        elif fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
            for n, child in enumerate(values):
                yield from _strings(child, f"{where}[{n}]" if repeated else where, most)
                yield


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
    """No string of a typed request is too long (the REST codec checks them as it reads the JSON)."""
    yield from _strings(msg, "", limits.max_string_chars)
