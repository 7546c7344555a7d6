"""Numbers stream events as they are made: `sequence_number` from 0, strictly rising."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.message import Message

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.response_pb2 import Response

DELTA_SUFFIX = "_delta"
"""The events that carry a piece of output as it is made are the `ResponseStreamEvent` cases named
`*_delta` (text, refusal, reasoning, a call's arguments, of whatever tool)."""


RESPONSE_OF: dict[str, Callable[[ResponseStreamEvent], Response]] = {
    "response_created": lambda event: event.response_created.response,
    "response_queued": lambda event: event.response_queued.response,
    "response_in_progress": lambda event: event.response_in_progress.response,
    "response_completed": lambda event: event.response_completed.response,
    "response_incomplete": lambda event: event.response_incomplete.response,
    "response_failed": lambda event: event.response_failed.response,
}
"""The lifecycle events, each with where it carries the whole response."""

TERMINAL = ("response_completed", "response_incomplete", "response_failed")


def is_delta(event: ResponseStreamEvent) -> bool:
    """Whether `event` carries a piece of output (text, refusal, reasoning, arguments)."""
    case = event.WhichOneof("event")
    return case is not None and case.endswith(DELTA_SUFFIX)


class EventEmitter:
    """Makes the events of one response stream."""

    def __init__(self) -> None:
        self._next = 0

    def emit(self, case: str, event: Message | Mapping[str, Any]) -> ResponseStreamEvent:
        """Wrap `event` (the message of oneof case `case`, or its fields: then it is made in place, not
        made and copied in) with the next sequence number."""
        fields: dict[str, Any] = {case: event}
        out = ResponseStreamEvent(sequence_number=self._next, **fields)
        self._next += 1
        return out
