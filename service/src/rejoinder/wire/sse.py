"""Server-sent event frames as OpenAI sends them: `event: <type>\\ndata: <one-line json>\\n\\n`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import Response
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


Read = Callable[[ResponseStreamEvent], "tuple[_Key, str] | None"]


def _text_delta(event: ResponseStreamEvent) -> tuple[_Key, str] | None:
    d = event.output_text_delta
    if d.logprobs or d.HasField("obfuscation"):
        return None
    return ("output_text_delta", d.output_index, d.item_id, d.content_index), d.delta


def _reasoning_delta(event: ResponseStreamEvent) -> tuple[_Key, str] | None:
    d = event.reasoning_text_delta
    if d.HasField("obfuscation"):
        return None
    return ("reasoning_text_delta", d.output_index, d.item_id, d.content_index), d.delta


def _refusal_delta(event: ResponseStreamEvent) -> tuple[_Key, str] | None:
    d = event.refusal_delta
    return ("refusal_delta", d.output_index, d.item_id, d.content_index), d.delta


def _arguments_delta(event: ResponseStreamEvent) -> tuple[_Key, str] | None:
    d = event.function_call_arguments_delta
    if d.HasField("obfuscation"):
        return None
    return ("function_call_arguments_delta", d.output_index, d.item_id), d.delta


_TEXT_PART = ("output_index", "item_id", "content_index", "delta")
READERS: dict[str, tuple[Read, frozenset[str]]] = {
    "output_text_delta": (_text_delta, frozenset({*_TEXT_PART, "logprobs", "obfuscation"})),
    "reasoning_text_delta": (_reasoning_delta, frozenset({*_TEXT_PART, "obfuscation"})),
    "refusal_delta": (_refusal_delta, frozenset(_TEXT_PART)),
    "function_call_arguments_delta": (
        _arguments_delta,
        frozenset({"output_index", "item_id", "delta", "obfuscation"}),
    ),
}
"""The deltas that are spliced: how to read what their frame depends on besides the number and text
(None when the codec must frame it), and every field their message has. A message with a field not
listed (the proto grew one) is not spliced: the codec frames it, as everything else."""


LIFECYCLE: dict[str, Callable[[ResponseStreamEvent], Response]] = {
    "response_created": lambda event: event.response_created.response,
    "response_queued": lambda event: event.response_queued.response,
    "response_in_progress": lambda event: event.response_in_progress.response,
}
"""The events that carry the whole response as it starts (a stream's first two carry the same one), and
where."""


class EventFrames:
    """The frames of one stream's events: `frame(codec.encode(event))`, byte for byte, made faster for
    the deltas and for the response a stream's first events repeat.

    A delta event differs from the previous delta of its part only in its sequence number and its
    text. So the codec frames one of them with marks in their place, once per part, and the frames of
    the others are its pieces with the number and the JSON string of the text put in.

    `response.created` and `response.in_progress` (or `response.queued`) carry the same response, the
    longest JSON of the opening frames: it is encoded once, and reused while its bytes are the same (and
    let go at the first other event: 1,000 open streams would otherwise each hold one).
    """

    def __init__(self, codec: OpenAIJson) -> None:
        self._codec = codec
        self._readers: dict[str, Read | None] = {}  # by oneof case, once seen
        self._key: _Key | None = None
        self._pieces: Pieces | None = None
        self._started: tuple[bytes, dict[str, object]] | None = None  # a lifecycle payload, by response
        self._primed: list[tuple[ResponseStreamEvent, bytes]] = []

    def prime(self, events: Sequence[ResponseStreamEvent]) -> None:
        """Frame `events` now, ahead of their turn (a stream's opening events, made while the upstream's
        first delta is awaited: `Run.prefetch`); `frame` then gives these very events their frames at
        once, in this order."""
        self._primed = [(event, self.frame(event)) for event in events]

    def frame(self, event: ResponseStreamEvent) -> bytes:
        """The SSE frame of `event`."""
        primed = self._primed
        if primed:
            if primed[0][0] is event:
                return primed.pop(0)[1]
            primed.clear()  # another event came first: those frames would be out of turn
        case = event.WhichOneof("event") or ""
        if case in LIFECYCLE:
            return frame(self._lifecycle(event, case))
        self._started = None  # only the opening events repeat it: a long stream does not keep it
        read = self._readers[case] if case in self._readers else self._reader(case)
        found = read(event) if read is not None else None
        if found is not None:
            key, text = found
            if key != self._key:
                self._key, self._pieces = key, _cut(self._codec, event)
            pieces = self._pieces
            if pieces is not None:
                number = event.sequence_number
                return b"%b%d%b%b%b" % (pieces[0], number, pieces[1], orjson.dumps(text), pieces[2])
        payload = self._codec.encode(event)
        assert isinstance(payload, dict)
        return frame(payload)

    def _lifecycle(self, event: ResponseStreamEvent, case: str) -> dict[str, object]:
        """The payload of a lifecycle event: the previous one's with this event's type and number, when
        it carried the same response; else the codec's."""
        response = LIFECYCLE[case](event).SerializeToString(deterministic=True)
        started = self._started
        if started is not None and started[0] == response:
            payload = dict(started[1])  # the same keys in the same order: only the values change
            payload["type"] = self._codec.plan(ResponseStreamEvent.DESCRIPTOR).type_by_case[case]
            payload["sequence_number"] = event.sequence_number
            return payload
        encoded = self._codec.encode(event)
        assert isinstance(encoded, dict)
        self._started = (response, encoded)
        return encoded

    def _reader(self, case: str) -> Read | None:
        """How events of `case` are spliced, if they are: its message has exactly the fields the reader
        knows, and the codec writes its `delta` as a JSON string."""
        spliced = READERS.get(case)
        read = None
        if spliced is not None:
            message = ResponseStreamEvent.DESCRIPTOR.fields_by_name[case].message_type
            assert message is not None
            text = self._codec.plan(message).fields.get("delta")
            if set(message.fields_by_name) == spliced[1] and text is not None and text.kind is Kind.STRING:
                read = spliced[0]
        self._readers[case] = read
        return read


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
