"""Server-sent event frames as OpenAI sends them: `event: <type>\\ndata: <one-line json>\\n\\n`."""

from __future__ import annotations

import orjson
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.plan import Kind

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"

SEQUENCE_MARK = 7_318_455_090_612_749_201
TEXT_MARK = "\x00rejoinder-delta-text\x00"
_SEQUENCE = b"%d" % SEQUENCE_MARK
_TEXT = orjson.dumps(TEXT_MARK)

Pieces = tuple[bytes, bytes, bytes]
_Key = tuple[object, ...]


def frame(payload: dict[str, object]) -> bytes:
    """One SSE frame for an encoded event (which carries its own `type`)."""
    event_type = str(payload["type"]).encode()
    return b"event: " + event_type + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class EventFrames:
    """The frames of one stream's events: `frame(codec.encode(event))`, byte for byte, made faster for
    the deltas.

    A delta event (a case of the event's oneof whose message has a string `delta`, with no other field
    set but scalars) differs from the previous delta of its part only in its sequence number and its
    text. So the codec frames one of them with marks in their place, once per part, and the frames of
    the others are its pieces with the number and the JSON string of the text put in.
    """

    def __init__(self, codec: OpenAIJson) -> None:
        self._codec = codec
        self._spliced: dict[str, bool] = {}  # by oneof case: whether its events are deltas
        self._key: _Key | None = None
        self._pieces: Pieces | None = None

    def frame(self, event: ResponseStreamEvent) -> bytes:
        """The SSE frame of `event`."""
        fields = event.ListFields()
        if fields:
            case, inner = fields[-1]  # the oneof's case: its field numbers follow `sequence_number`'s
            if isinstance(inner, Message) and self._is_delta(case):
                made = self._splice(event, case, inner)
                if made is not None:
                    return made
        return self._generic(event)

    def _generic(self, event: ResponseStreamEvent) -> bytes:
        payload = self._codec.encode(event)
        assert isinstance(payload, dict)
        return frame(payload)

    def _is_delta(self, case: FieldDescriptor) -> bool:
        spliced = self._spliced.get(case.name)
        if spliced is None:
            text = self._codec.plan(case.message_type).fields.get("delta") if case.message_type else None
            spliced = self._spliced[case.name] = text is not None and text.kind is Kind.STRING
        return spliced

    def _splice(self, event: ResponseStreamEvent, case: FieldDescriptor, inner: Message) -> bytes | None:
        key: list[object] = [case.number]
        text = ""
        for field, value in inner.ListFields():
            if field.name == "delta":
                text = value
            elif isinstance(value, str | int):
                key += (field.number, value)
            else:
                return None  # logprobs: the codec frames it
        pieces = self._pieces_for(tuple(key), event)
        if pieces is None:
            return None
        return b"%b%d%b%b%b" % (pieces[0], event.sequence_number, pieces[1], orjson.dumps(text), pieces[2])

    def _pieces_for(self, key: _Key, event: ResponseStreamEvent) -> Pieces | None:
        """The pieces of the frame of events like `event` (same case and fields but the number and
        text); kept for the last part seen, which is where the next deltas go."""
        if key != self._key:
            self._key, self._pieces = key, _cut(self._codec, event)
        return self._pieces


def _cut(codec: OpenAIJson, event: ResponseStreamEvent) -> Pieces | None:
    """The codec's frame of `event` with marks for its number and text, cut around them (None when a
    mark cannot be found once, in that order)."""
    payload = codec.encode(event)
    assert isinstance(payload, dict)
    if "sequence_number" not in payload or "delta" not in payload:
        return None
    payload["sequence_number"] = SEQUENCE_MARK
    payload["delta"] = TEXT_MARK
    marked = frame(payload)
    if marked.count(_SEQUENCE) != 1 or marked.count(_TEXT) != 1:
        return None
    head, _, rest = marked.partition(_SEQUENCE)
    middle, found, tail = rest.partition(_TEXT)
    return (head, middle, tail) if found else None  # not found: the text came before the number
