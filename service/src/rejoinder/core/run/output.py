"""Turns normalized provider deltas into output items and their stream events.

One item is open at a time; a delta of another kind (or another tool call) closes it, so items are
emitted in `output_index` order and never interleave. Text is kept as a list of fragments and
joined once, when its part closes: no whole-response copies per delta. A builder made with
`events=False` (a response nobody streams) makes none of the events of its deltas, items and parts:
a non-stream response is the fold of its events, which only its terminal event carries, and its
output is the same items, made from the same fragments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from rejoinder.core.ids import IdGenerator
from rejoinder.core.run.events import EventEmitter
from rejoinder.providers import base as p
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.content_pb2 import (
    Annotation,
    Logprob,
    OutputText,
    ReasoningText,
    Refusal,
    StreamedContent,
    TopLogprob,
)
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import FunctionToolCall, OutputItem, ReasoningItem

Events = list[ResponseStreamEvent]
Annotator = Callable[[str], Sequence[Annotation]]
_DELTA_CASES = {
    "output_text": "output_text_delta",
    "refusal": "refusal_delta",
    "reasoning_text": "reasoning_text_delta",
}


def _logprob(lp: p.TokenLogprob) -> Logprob:
    return Logprob(
        token=lp.token,
        logprob=lp.logprob,
        bytes=list(lp.bytes or ()),
        top_logprobs=[
            TopLogprob(token=t.token, logprob=t.logprob, bytes=list(t.bytes or ())) for t in lp.top_logprobs
        ],
    )


@dataclass
class _Part:
    kind: str  # "output_text" | "refusal" | "reasoning_text"
    pieces: list[str] = field(default_factory=list)
    logprobs: list[Logprob] = field(default_factory=list)
    annotations: list[Annotation] | None = None  # of a finished output text, once asked

    def streamed(self, text: str) -> StreamedContent:
        if self.kind == "refusal":
            return StreamedContent(refusal=Refusal(refusal=text))
        if self.kind == "reasoning_text":
            return StreamedContent(reasoning_text=ReasoningText(text=text))
        return StreamedContent(
            output_text=OutputText(
                text=text, logprobs=self.logprobs if text else [], annotations=self.annotations or []
            )
        )


@dataclass
class _Open:
    kind: str  # "message" | "reasoning" | "function_call"
    index: int
    item_id: str
    parts: list[_Part] = field(default_factory=list)
    call_index: int = -1
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OutputBuilder:
    """Builds `Response.output` from deltas, emitting the events of each step."""

    def __init__(
        self,
        emitter: EventEmitter,
        ids: IdGenerator,
        seal: Callable[[list[str]], str] | None = None,
        *,
        events: bool = True,
    ) -> None:
        self._emit = emitter.emit
        self._events = events
        self._ids = ids
        self._seal = seal
        self._open: _Open | None = None
        self._closed_calls: set[int] = set()
        self.items: list[OutputItem] = []
        self.function_calls = 0
        self.annotate: Annotator | None = None
        """Annotations for each finished output text (the server-side tools' citations), when set."""

    def on_delta(self, delta: p.ChatDelta) -> Events:
        """The events one delta causes."""
        if isinstance(delta, p.TextDelta):
            return self._text("message", "output_text", delta.text, delta.logprobs)
        if isinstance(delta, p.RefusalDelta):
            return self._text("message", "refusal", delta.text, ())
        if isinstance(delta, p.ReasoningDelta):
            return self._text("reasoning", "reasoning_text", delta.text, ())
        if isinstance(delta, p.ToolCallDelta):
            return self._tool_call(delta)
        return []

    # ---- text-like content -----------------------------------------------------------------

    def _text(self, item_kind: str, part_kind: str, text: str, lps: tuple[p.TokenLogprob, ...]) -> Events:
        events: Events = []
        if self._open is None or self._open.kind != item_kind:
            events += self.close("completed")
            events += self._open_item(item_kind)
        assert self._open is not None
        opened = self._open
        if not opened.parts or opened.parts[-1].kind != part_kind:
            if opened.parts:
                events += self._close_part(opened, len(opened.parts) - 1)
            events += self._open_part(opened, part_kind)
        part = opened.parts[-1]
        part.pieces.append(text)
        converted = [_logprob(lp) for lp in lps] if lps else []
        if converted:
            part.logprobs.extend(converted)
        if self._events:
            events.append(self._delta_event(opened, part, text, converted))
        return events

    def _delta_event(self, opened: _Open, part: _Part, text: str, lps: list[Logprob]) -> ResponseStreamEvent:
        fields: dict[str, object] = {
            "output_index": opened.index,
            "item_id": opened.item_id,
            "content_index": len(opened.parts) - 1,
            "delta": text,
        }
        if lps:
            fields["logprobs"] = lps
        return self._emit(_DELTA_CASES[part.kind], fields)

    def _open_item(self, kind: str) -> Events:
        prefix = "msg" if kind == "message" else "rs"
        self._open = _Open(kind=kind, index=len(self.items), item_id=self._ids.new(prefix))
        if not self._events:
            return []
        return [
            self._emit(
                "output_item_added",
                ev.OutputItemAddedEvent(
                    output_index=self._open.index, item=self._item(self._open, "in_progress")
                ),
            )
        ]

    def _open_part(self, opened: _Open, kind: str) -> Events:
        part = _Part(kind=kind)
        opened.parts.append(part)
        if not self._events:
            return []
        added = ev.ContentPartAddedEvent(
            output_index=opened.index,
            item_id=opened.item_id,
            content_index=len(opened.parts) - 1,
            part=part.streamed(""),
        )
        return [self._emit("content_part_added", added)]

    def _close_part(self, opened: _Open, ci: int) -> Events:
        if not self._events:
            return []
        part = opened.parts[ci]
        text = "".join(part.pieces)
        events_: Events = []
        common: dict[str, Any] = {
            "output_index": opened.index,
            "item_id": opened.item_id,
            "content_index": ci,
        }
        if part.kind == "output_text":
            notes = self._annotated(part, text)
            for i, note in enumerate(notes):
                added = ev.OutputTextAnnotationAddedEvent(annotation_index=i, annotation=note, **common)
                events_.append(self._emit("output_text_annotation_added", added))
            done = self._emit(
                "output_text_done", ev.OutputTextDoneEvent(text=text, logprobs=part.logprobs, **common)
            )
        elif part.kind == "refusal":
            done = self._emit("refusal_done", ev.RefusalDoneEvent(refusal=text, **common))
        else:
            done = self._emit("reasoning_text_done", ev.ReasoningTextDoneEvent(text=text, **common))
        return [
            *events_,
            done,
            self._emit("content_part_done", ev.ContentPartDoneEvent(part=part.streamed(text), **common)),
        ]

    def _annotated(self, part: _Part, text: str) -> list[Annotation]:
        """The annotations of a finished output text (asked once)."""
        if part.annotations is None:
            part.annotations = list(self.annotate(text)) if self.annotate is not None else []
        return part.annotations

    # ---- tool calls ------------------------------------------------------------------------

    def _tool_call(self, delta: p.ToolCallDelta) -> Events:
        events: Events = []
        opened = self._open
        if opened is None or opened.kind != "function_call" or opened.call_index != delta.index:
            if delta.index in self._closed_calls:
                raise p.UpstreamError(
                    "protocol", "the upstream interleaved the fragments of parallel tool calls"
                )
            events += self.close("completed")
            opened = _Open(
                kind="function_call",
                index=len(self.items),
                item_id=self._ids.new("fc"),
                call_index=delta.index,
                call_id=delta.id or self._ids.new("call"),
                name=delta.name or "",
            )
            self._open = opened
            self.function_calls += 1
            if self._events:
                added = ev.OutputItemAddedEvent(
                    output_index=opened.index, item=self._item(opened, "in_progress")
                )
                events.append(self._emit("output_item_added", added))
        elif delta.name and not opened.name:
            opened.name = delta.name
        if delta.arguments:
            opened.arguments.append(delta.arguments)
            if self._events:
                fields = {"output_index": opened.index, "item_id": opened.item_id, "delta": delta.arguments}
                events.append(self._emit("function_call_arguments_delta", fields))
        return events

    # ---- items made by the service (server-side tools: listings, calls) --------------------

    def emit(self, case: str, event: Message) -> ResponseStreamEvent:
        """One event of the response's stream."""
        return self._emit(case, event)

    def open_item(self, item: OutputItem) -> tuple[int, Events]:
        """Start an item the service makes itself; finish it with `done_item`."""
        events = self.close("completed")
        index = len(self.items)
        events.append(self._emit("output_item_added", ev.OutputItemAddedEvent(output_index=index, item=item)))
        return index, events

    def done_item(self, index: int, item: OutputItem) -> ResponseStreamEvent:
        """Finish the item started at `index`."""
        assert index == len(self.items), "service items are finished in order"
        self.items.append(item)
        return self._emit("output_item_done", ev.OutputItemDoneEvent(output_index=index, item=item))

    # ---- closing ---------------------------------------------------------------------------

    def close(self, status: str) -> Events:
        """Close the open item (if any) with `status` ("completed" or "incomplete")."""
        opened = self._open
        if opened is None:
            return []
        if opened.kind == "function_call":
            self._closed_calls.add(opened.call_index)
        item = self._item(opened, status)
        self.items.append(item)
        self._open = None
        return self._closing(opened, item) if self._events else []

    def _closing(self, opened: _Open, item: OutputItem) -> Events:
        """The events that close `opened` as `item`."""
        events: Events = []
        if opened.kind == "function_call":
            done = ev.FunctionCallArgumentsDoneEvent(
                output_index=opened.index,
                item_id=opened.item_id,
                name=opened.name,
                arguments="".join(opened.arguments),
            )
            events.append(self._emit("function_call_arguments_done", done))
        elif opened.parts:
            events += self._close_part(opened, len(opened.parts) - 1)
        events.append(
            self._emit("output_item_done", ev.OutputItemDoneEvent(output_index=opened.index, item=item))
        )
        return events

    def _item(self, opened: _Open, status: str) -> OutputItem:
        final = status != "in_progress"
        if opened.kind == "function_call":
            return OutputItem(
                function_call=FunctionToolCall(
                    id=opened.item_id,
                    call_id=opened.call_id,
                    name=opened.name,
                    arguments="".join(opened.arguments) if final else "",
                    status=status,
                )
            )
        parts = opened.parts if final else []
        if opened.kind == "reasoning":
            content = [ReasoningText(text="".join(x.pieces)) for x in parts]
            item = ReasoningItem(id=opened.item_id, summary=[], content=content, status=status)
            if final and self._seal is not None:
                item.encrypted_content = self._seal([c.text for c in content])
            return OutputItem(reasoning=item)
        made = OutputItem()  # made in place (each message made and copied in cost ~4 us a response)
        message = made.message
        message.id, message.role, message.status = opened.item_id, "assistant", status
        for x in parts:
            text = "".join(x.pieces)
            if x.kind == "refusal":
                message.content.add().refusal.refusal = text
            else:
                output = message.content.add().output_text
                output.text = text
                output.logprobs.extend(x.logprobs)
                output.annotations.extend(self._annotated(x, text))
        return made
