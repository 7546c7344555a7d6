"""A response's event stream as one value: each event's serialized bytes after its length.

The length is 4 bytes, big-endian. Stores keep the whole stream in one row, written once.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent

_LENGTH = struct.Struct(">I")


def pack_events(events: Sequence[ResponseStreamEvent]) -> bytes:
    """The events as one byte string."""
    return b"".join(_LENGTH.pack(len(data)) + data for data in (e.SerializeToString() for e in events))


def unpack_events(body: bytes) -> tuple[ResponseStreamEvent, ...]:
    """The events `pack_events` made."""
    events: list[ResponseStreamEvent] = []
    offset = 0
    while offset < len(body):
        (length,) = _LENGTH.unpack_from(body, offset)
        offset += _LENGTH.size
        events.append(ResponseStreamEvent.FromString(body[offset : offset + length]))
        offset += length
    return tuple(events)
