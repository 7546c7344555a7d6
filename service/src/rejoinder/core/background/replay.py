"""The end of a background run whose server is gone, told from the events it kept.

A replica that crashed (or was killed) leaves its running responses `in_progress`, with the events it had
flushed to the store. Whoever finds such a run (another replica after the lease, or the same replica at
its next start) ends it the way the run would have: the output made so far, rebuilt from those events
(items that were not done are kept `incomplete`), the response `failed`, and an `error` event and
`response.failed` appended to its events, so that every stored replay ends with its terminal event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rejoinder.errors import ApiError
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.content_pb2 import OutputContent, ReasoningText
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import (
    FileSearchCall,
    FunctionToolCall,
    McpApprovalRequest,
    McpCall,
    OutputItem,
    OutputMessage,
    ReasoningItem,
)
from rejoinder.responses.v1.response_pb2 import Response, ResponseError

ARGUMENTS_DELTAS: dict[str, Callable[[ResponseStreamEvent], tuple[int, str]]] = {
    "mcp_call_arguments_delta": lambda event: (
        event.mcp_call_arguments_delta.output_index,
        event.mcp_call_arguments_delta.delta,
    ),
}
"""The events that carry a piece of a call's `arguments` (of a server-side tool), by case: the output
index of the call and the piece. With `function_call_arguments_delta` (which goes to a function call
only, read where the other deltas are), these are all the `*_arguments_delta` cases of the event."""

CALLS: dict[str, Callable[[OutputItem], FunctionToolCall | McpCall | McpApprovalRequest]] = {
    "function_call": lambda item: item.function_call,
    "mcp_call": lambda item: item.mcp_call,
    "mcp_approval_request": lambda item: item.mcp_approval_request,
}
"""The kinds of item that have `arguments` (to which an `ARGUMENTS_DELTAS` event's piece is added), by
case: the item."""

WITH_STATUS: dict[
    str,
    Callable[[OutputItem], OutputMessage | FunctionToolCall | ReasoningItem | McpCall | FileSearchCall],
] = {
    "message": lambda item: item.message,
    "function_call": lambda item: item.function_call,
    "reasoning": lambda item: item.reasoning,
    "mcp_call": lambda item: item.mcp_call,
    "file_search_call": lambda item: item.file_search_call,
}
"""The kinds of item that have a `status` (made `incomplete` when the item was not done), by case: the
item."""


@dataclass
class _Items:
    """Output items by output index, as the events built them."""

    items: dict[int, OutputItem] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)

    def added(self, index: int, item: OutputItem, *, done: bool) -> None:
        copy = OutputItem()
        copy.CopyFrom(item)
        self.items[index] = copy
        if done:
            self.done.add(index)

    def part(self, index: int, part: ev.ContentPartAddedEvent) -> None:
        item = self.items.get(index)
        if item is None:
            return
        streamed = part.part
        kind = streamed.WhichOneof("part")
        if kind == "reasoning_text" and item.WhichOneof("item") == "reasoning":
            item.reasoning.content.append(ReasoningText(text=streamed.reasoning_text.text))
        elif kind == "output_text" and item.WhichOneof("item") == "message":
            item.message.content.append(OutputContent(output_text=streamed.output_text))
        elif kind == "refusal" and item.WhichOneof("item") == "message":
            item.message.content.append(OutputContent(refusal=streamed.refusal))

    def delta(self, event: ResponseStreamEvent) -> None:
        kind = event.WhichOneof("event")
        if kind == "output_text_delta":
            d = event.output_text_delta
            content = self._content(d.output_index, d.content_index)
            if content is not None:
                content.output_text.text += d.delta
        elif kind == "refusal_delta":
            r = event.refusal_delta
            content = self._content(r.output_index, r.content_index)
            if content is not None:
                content.refusal.refusal += r.delta
        elif kind == "function_call_arguments_delta":
            f = event.function_call_arguments_delta
            item = self.items.get(f.output_index)
            if item is not None and item.WhichOneof("item") == "function_call":
                item.function_call.arguments += f.delta
        elif kind == "reasoning_text_delta":
            t = event.reasoning_text_delta
            item = self.items.get(t.output_index)
            known = item is not None and item.WhichOneof("item") == "reasoning"
            if item is not None and known and t.content_index < len(item.reasoning.content):
                item.reasoning.content[t.content_index].text += t.delta
        elif kind is not None and kind in ARGUMENTS_DELTAS:
            self._add_arguments(*ARGUMENTS_DELTAS[kind](event))

    def _add_arguments(self, index: int, piece: str) -> None:
        """Append a piece of `arguments` to those of the call at `index` (of any kind that has them)."""
        item = self.items.get(index)
        kind = item.WhichOneof("item") if item is not None else None
        if item is not None and kind is not None and kind in CALLS:
            CALLS[kind](item).arguments += piece

    def _content(self, index: int, content_index: int) -> OutputContent | None:
        item = self.items.get(index)
        if item is None or item.WhichOneof("item") != "message":
            return None
        parts = item.message.content
        return parts[content_index] if content_index < len(parts) else None

    def finished(self) -> list[OutputItem]:
        """In output order; those not done are `incomplete`."""
        out = []
        for index in sorted(self.items):
            item = self.items[index]
            kind = item.WhichOneof("item")
            if index not in self.done and kind is not None and kind in WITH_STATUS:
                WITH_STATUS[kind](item).status = "incomplete"
            out.append(item)
        return out


def output_so_far(events: Sequence[ResponseStreamEvent]) -> list[OutputItem]:
    """The output items the events made, in order; those not done are `incomplete`."""
    items = _Items()
    for event in events:
        kind = event.WhichOneof("event")
        if kind == "output_item_added":
            added = event.output_item_added
            items.added(added.output_index, added.item, done=False)
        elif kind == "output_item_done":
            done = event.output_item_done
            items.added(done.output_index, done.item, done=True)
        elif kind == "content_part_added":
            items.part(event.content_part_added.output_index, event.content_part_added)
        else:
            items.delta(event)
    return items.finished()


def failed_at_end(
    response: Response, events: Sequence[ResponseStreamEvent], error: ApiError, now: int
) -> tuple[Response, list[ResponseStreamEvent]]:
    """The response `failed` with `error` and the output its events made, and the two events that end
    its stream (`error`, `response.failed`), numbered after the last one kept."""
    failed = Response()
    failed.CopyFrom(response)
    failed.status = "failed"
    failed.completed_at = now
    failed.error.CopyFrom(ResponseError(code="server_error", message=error.message))
    del failed.output[:]
    failed.output.extend(output_so_far(events))
    after = max((e.sequence_number for e in events), default=-1)
    payload = ev.ErrorPayload(type="server_error", code="server_error", message=error.message)
    told = ev.ErrorEvent(code="server_error", message=error.message, error=payload)
    return failed, [
        ResponseStreamEvent(sequence_number=after + 1, error=told),
        ResponseStreamEvent(
            sequence_number=after + 2, response_failed=ev.ResponseFailedEvent(response=failed)
        ),
    ]
