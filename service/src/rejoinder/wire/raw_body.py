"""The REST bridge's request body, read without copying it.

Envoy hands a JSON body over as a `google.api.HttpBody` (`content_type` = 1, `data` = 2, `extensions`
= 3). Parsed as a message, a 32 MiB body would be copied twice in one go (into the message, then out of
it as `bytes`), holding the event loop each time; read here, `data` is a view of the bytes gRPC received.
"""

from __future__ import annotations

from dataclasses import dataclass

_LENGTH_DELIMITED = 2


@dataclass(frozen=True)
class RawBody:
    """An HttpBody's fields, `data` viewed in place."""

    content_type: str
    data: memoryview


def _varint(raw: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(raw) or shift > 63:
            raise ValueError("truncated varint")
        byte = raw[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def read_raw_body(raw: bytes) -> RawBody:
    """The body's content type and data; a ValueError for bytes that are not an HttpBody."""
    view = memoryview(raw)
    content_type = ""
    data = view[0:0]
    at = 0
    while at < len(view):
        tag, at = _varint(view, at)
        if tag & 7 != _LENGTH_DELIMITED:
            raise ValueError(f"unexpected wire type {tag & 7}")
        length, at = _varint(view, at)
        end = at + length
        if end > len(view):
            raise ValueError("truncated field")
        if tag >> 3 == 1:
            content_type = bytes(view[at:end]).decode()
        elif tag >> 3 == 2:
            data = view[at:end]
        at = end  # extensions (3) are not read
    return RawBody(content_type, data)
