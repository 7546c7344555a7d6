"""Numbers stream events as they are made: `sequence_number` from 0, strictly rising."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import Message

from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent

DELTAS = frozenset(
    {
        "output_text_delta",
        "refusal_delta",
        "function_call_arguments_delta",
        "reasoning_text_delta",
        "reasoning_summary_text_delta",
        "mcp_call_arguments_delta",
    }
)
"""The events that carry a piece of output as it is made."""


def is_delta(event: ResponseStreamEvent) -> bool:
    """Whether `event` carries a piece of output (text, refusal, reasoning, arguments)."""
    return event.WhichOneof("event") in DELTAS


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
