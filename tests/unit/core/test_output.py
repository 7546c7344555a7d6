"""Provider deltas as output items and the stream events of each step, in OpenAI's order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from rejoinder.core.run.events import EventEmitter
from rejoinder.core.run.output import OutputBuilder
from rejoinder.providers import base as p
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from tests.fakes import SequentialIds


def build(
    deltas: Sequence[p.ChatDelta], *, status: str = "completed"
) -> tuple[OutputBuilder, list[ResponseStreamEvent]]:
    builder = OutputBuilder(EventEmitter(), SequentialIds())
    events: list[ResponseStreamEvent] = []
    for delta in deltas:
        events += builder.on_delta(delta)
    events += builder.close(status)
    return builder, events


def cases(events: Sequence[ResponseStreamEvent]) -> list[str]:
    return [str(e.WhichOneof("event")) for e in events]


def body(event: ResponseStreamEvent) -> Any:
    """The message of the event's case."""
    return getattr(event, str(event.WhichOneof("event")))


def output_index(event: ResponseStreamEvent) -> int:
    return int(body(event).output_index)


def event_item_id(event: ResponseStreamEvent) -> str:
    b = body(event)
    if event.WhichOneof("event") in ("output_item_added", "output_item_done"):
        kind = b.item.WhichOneof("item")
        return str(getattr(b.item, kind).id)
    return str(b.item_id)


TEXT_ONLY = [
    "output_item_added",
    "content_part_added",
    "output_text_delta",
    "output_text_delta",
    "output_text_delta",
    "output_text_done",
    "content_part_done",
    "output_item_done",
]


def test_text_events_in_openais_order() -> None:
    _, events = build([p.TextDelta("Hel"), p.TextDelta("lo, "), p.TextDelta("world")])

    assert cases(events) == TEXT_ONLY


def test_text_is_joined_in_done_events_and_the_item() -> None:
    builder, events = build([p.TextDelta("Hel"), p.TextDelta("lo, "), p.TextDelta("world")])

    assert [e.output_text_delta.delta for e in events if e.HasField("output_text_delta")] == [
        "Hel",
        "lo, ",
        "world",
    ]
    assert events[5].output_text_done.text == "Hello, world"
    assert events[6].content_part_done.part.output_text.text == "Hello, world"
    (item,) = builder.items
    assert item.message.content[0].output_text.text == "Hello, world"
    assert events[7].output_item_done.item == item


def test_added_events_carry_empty_starts() -> None:
    _, events = build([p.TextDelta("Hi")])

    added = events[0].output_item_added
    assert added.output_index == 0
    assert added.item.message.status == "in_progress"
    assert added.item.message.role == "assistant"
    assert list(added.item.message.content) == []
    part = events[1].content_part_added
    assert part.content_index == 0
    assert part.part.WhichOneof("part") == "output_text"
    assert part.part.output_text.text == ""


def test_finished_message_item() -> None:
    builder, _ = build([p.TextDelta("Hi")])

    message = builder.items[0].message
    assert message.id == "msg_0001"
    assert message.role == "assistant"
    assert message.status == "completed"


def test_sequence_numbers_start_at_zero_and_rise_by_one() -> None:
    _, events = build(
        [
            p.ReasoningDelta("think"),
            p.TextDelta("a"),
            p.TextDelta("b"),
            p.ToolCallDelta(0, id="call_1", name="f", arguments="{}"),
        ]
    )

    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_sequence_numbers_continue_across_calls_of_the_same_emitter() -> None:
    emitter = EventEmitter()
    builder = OutputBuilder(emitter, SequentialIds())
    first = builder.on_delta(p.TextDelta("a"))
    later = emitter.emit("response_completed", ev.ResponseCompletedEvent())

    assert [e.sequence_number for e in first] == [0, 1, 2]
    assert later.sequence_number == 3


def test_item_ids_are_stable_between_events_and_items() -> None:
    builder, events = build(
        [p.TextDelta("a"), p.ToolCallDelta(0, id="call_1", name="f", arguments="{}"), p.TextDelta("b")]
    )

    ids_by_index: dict[int, set[str]] = {}
    for event in events:
        ids_by_index.setdefault(output_index(event), set()).add(event_item_id(event))
    final = [getattr(i, str(i.WhichOneof("item"))).id for i in builder.items]
    assert ids_by_index == {0: {final[0]}, 1: {final[1]}, 2: {final[2]}}
    assert final == ["msg_0001", "fc_0001", "msg_0002"]


def test_items_never_interleave_and_output_index_rises() -> None:
    _, events = build(
        [
            p.ReasoningDelta("r"),
            p.TextDelta("t"),
            p.ToolCallDelta(0, id="c0", name="f", arguments="{"),
            p.ToolCallDelta(0, arguments="}"),
            p.ToolCallDelta(1, id="c1", name="g", arguments="{}"),
            p.TextDelta("after"),
        ]
    )

    indexes = [output_index(e) for e in events]
    assert indexes == sorted(indexes)
    # every item is opened by `added` and closed by `done` before the next one opens
    open_item: int | None = None
    for event in events:
        kind = event.WhichOneof("event")
        if kind == "output_item_added":
            assert open_item is None
            open_item = output_index(event)
        elif kind == "output_item_done":
            assert open_item == output_index(event)
            open_item = None
        else:
            assert open_item == output_index(event)
    assert open_item is None
    assert sorted(set(indexes)) == [0, 1, 2, 3, 4]


def test_function_call_events_in_openais_order() -> None:
    builder, events = build(
        [
            p.ToolCallDelta(0, id="call_1", name="get_weather"),
            p.ToolCallDelta(0, arguments='{"city":'),
            p.ToolCallDelta(0, arguments='"Paris"}'),
        ]
    )

    assert cases(events) == [
        "output_item_added",
        "function_call_arguments_delta",
        "function_call_arguments_delta",
        "function_call_arguments_done",
        "output_item_done",
    ]
    added = events[0].output_item_added.item.function_call
    assert (added.id, added.call_id, added.name, added.arguments, added.status) == (
        "fc_0001",
        "call_1",
        "get_weather",
        "",
        "in_progress",
    )
    assert [events[1].function_call_arguments_delta.delta, events[2].function_call_arguments_delta.delta] == [
        '{"city":',
        '"Paris"}',
    ]
    done = events[3].function_call_arguments_done
    assert (done.item_id, done.name, done.arguments) == ("fc_0001", "get_weather", '{"city":"Paris"}')
    final = events[4].output_item_done.item
    assert final == builder.items[0]
    assert final.function_call.arguments == '{"city":"Paris"}'
    assert final.function_call.status == "completed"
    assert builder.function_calls == 1


def test_tool_call_without_an_id_gets_one() -> None:
    builder, _ = build([p.ToolCallDelta(0, name="f", arguments="{}")])

    assert builder.items[0].function_call.call_id == "call_0001"


def test_tool_call_name_arriving_later_is_used() -> None:
    builder, events = build(
        [p.ToolCallDelta(0, id="call_1"), p.ToolCallDelta(0, name="late", arguments="{}")]
    )

    assert builder.items[0].function_call.name == "late"
    (done,) = [e.function_call_arguments_done for e in events if e.HasField("function_call_arguments_done")]
    assert done.name == "late"


def test_two_tool_calls_in_a_row() -> None:
    builder, events = build(
        [
            p.ToolCallDelta(0, id="call_a", name="f", arguments='{"x":'),
            p.ToolCallDelta(0, arguments="1}"),
            p.ToolCallDelta(1, id="call_b", name="g", arguments="{}"),
        ]
    )

    assert cases(events) == [
        "output_item_added",
        "function_call_arguments_delta",
        "function_call_arguments_delta",
        "function_call_arguments_done",
        "output_item_done",
        "output_item_added",
        "function_call_arguments_delta",
        "function_call_arguments_done",
        "output_item_done",
    ]
    calls = [i.function_call for i in builder.items]
    assert [(c.id, c.call_id, c.name, c.arguments) for c in calls] == [
        ("fc_0001", "call_a", "f", '{"x":1}'),
        ("fc_0002", "call_b", "g", "{}"),
    ]
    assert builder.function_calls == 2


def test_interleaved_tool_call_fragments_are_a_protocol_error() -> None:
    builder = OutputBuilder(EventEmitter(), SequentialIds())
    builder.on_delta(p.ToolCallDelta(0, id="call_a", name="f", arguments="{"))
    builder.on_delta(p.ToolCallDelta(1, id="call_b", name="g", arguments="{"))

    with pytest.raises(p.UpstreamError) as info:
        builder.on_delta(p.ToolCallDelta(0, arguments="}"))

    assert info.value.kind == "protocol"


def test_text_then_tool_call() -> None:
    builder, events = build(
        [p.TextDelta("Let me check."), p.ToolCallDelta(0, id="call_1", name="f", arguments="{}")]
    )

    assert cases(events) == [
        *TEXT_ONLY[:3],
        "output_text_done",
        "content_part_done",
        "output_item_done",
        "output_item_added",
        "function_call_arguments_delta",
        "function_call_arguments_done",
        "output_item_done",
    ]
    assert [i.WhichOneof("item") for i in builder.items] == ["message", "function_call"]


def test_refusal_part() -> None:
    builder, events = build([p.RefusalDelta("I can't "), p.RefusalDelta("help with that.")])

    assert cases(events) == [
        "output_item_added",
        "content_part_added",
        "refusal_delta",
        "refusal_delta",
        "refusal_done",
        "content_part_done",
        "output_item_done",
    ]
    assert events[1].content_part_added.part.WhichOneof("part") == "refusal"
    assert events[4].refusal_done.refusal == "I can't help with that."
    assert events[5].content_part_done.part.refusal.refusal == "I can't help with that."
    content = builder.items[0].message.content
    assert [c.WhichOneof("part") for c in content] == ["refusal"]
    assert content[0].refusal.refusal == "I can't help with that."


def test_text_then_refusal_are_two_parts_of_one_message() -> None:
    builder, events = build([p.TextDelta("Partly. "), p.RefusalDelta("No more.")])

    assert cases(events) == [
        "output_item_added",
        "content_part_added",
        "output_text_delta",
        "output_text_done",
        "content_part_done",
        "content_part_added",
        "refusal_delta",
        "refusal_done",
        "content_part_done",
        "output_item_done",
    ]
    assert events[5].content_part_added.content_index == 1
    assert events[6].refusal_delta.content_index == 1
    (item,) = builder.items
    assert [c.WhichOneof("part") for c in item.message.content] == ["output_text", "refusal"]


def test_reasoning_item() -> None:
    builder, events = build([p.ReasoningDelta("First, "), p.ReasoningDelta("add."), p.TextDelta("4")])

    assert cases(events)[:7] == [
        "output_item_added",
        "content_part_added",
        "reasoning_text_delta",
        "reasoning_text_delta",
        "reasoning_text_done",
        "content_part_done",
        "output_item_done",
    ]
    added = events[0].output_item_added.item.reasoning
    assert (added.id, added.status, list(added.content)) == ("rs_0001", "in_progress", [])
    assert events[1].content_part_added.part.WhichOneof("part") == "reasoning_text"
    assert events[4].reasoning_text_done.text == "First, add."
    reasoning, message = builder.items
    assert reasoning.reasoning.id == "rs_0001"
    assert [c.text for c in reasoning.reasoning.content] == ["First, add."]
    assert reasoning.reasoning.status == "completed"
    assert message.message.content[0].output_text.text == "4"
    assert events[7].output_item_added.output_index == 1


def test_text_logprobs_are_carried() -> None:
    lp = p.TokenLogprob("Hi", -0.25, (72, 105), (p.TopLogprob("Hey", -1.5, (72, 101, 121)),))
    builder, events = build([p.TextDelta("Hi", logprobs=(lp,))])

    delta = events[2].output_text_delta
    assert [(x.token, x.logprob, list(x.bytes)) for x in delta.logprobs] == [("Hi", -0.25, [72, 105])]
    assert delta.logprobs[0].top_logprobs[0].token == "Hey"
    assert events[3].output_text_done.logprobs == delta.logprobs
    assert builder.items[0].message.content[0].output_text.logprobs == delta.logprobs


def test_close_incomplete_marks_the_open_item_incomplete() -> None:
    builder = OutputBuilder(EventEmitter(), SequentialIds())
    builder.on_delta(p.TextDelta("Cut o"))

    events = builder.close("incomplete")

    assert cases(events) == ["output_text_done", "content_part_done", "output_item_done"]
    assert events[-1].output_item_done.item.message.status == "incomplete"
    assert builder.items[0].message.status == "incomplete"
    assert builder.items[0].message.content[0].output_text.text == "Cut o"


def test_close_incomplete_marks_a_function_call_incomplete() -> None:
    builder = OutputBuilder(EventEmitter(), SequentialIds())
    builder.on_delta(p.ToolCallDelta(0, id="call_1", name="f", arguments='{"a'))

    events = builder.close("incomplete")

    assert cases(events) == ["function_call_arguments_done", "output_item_done"]
    assert builder.items[0].function_call.status == "incomplete"
    assert builder.items[0].function_call.arguments == '{"a'


def test_close_only_affects_the_open_item() -> None:
    builder = OutputBuilder(EventEmitter(), SequentialIds())
    builder.on_delta(p.TextDelta("done"))
    builder.on_delta(p.ToolCallDelta(0, id="call_1", name="f", arguments="{}"))

    builder.close("incomplete")

    assert [i.message.status or i.function_call.status for i in builder.items] == ["completed", "incomplete"]


def test_close_with_nothing_open_emits_nothing() -> None:
    builder = OutputBuilder(EventEmitter(), SequentialIds())

    assert builder.close("completed") == []
    assert builder.items == []


def test_usage_and_finish_deltas_emit_nothing() -> None:
    builder = OutputBuilder(EventEmitter(), SequentialIds())

    assert builder.on_delta(p.UsageDelta(input_tokens=1, output_tokens=2)) == []
    assert builder.on_delta(p.FinishDelta("stop")) == []
    assert builder.items == []


MIXED: list[p.ChatDelta] = [
    p.ReasoningDelta("think"),
    p.TextDelta("Hel", (p.TokenLogprob("Hel", -0.1),)),
    p.TextDelta("lo"),
    p.RefusalDelta("no"),
    p.ToolCallDelta(0, "call_a", "f", '{"a":'),
    p.ToolCallDelta(0, arguments="1}"),
    p.ToolCallDelta(1, "call_b", "g", "{}"),
]


def test_a_builder_nobody_streams_makes_the_same_items_and_no_events() -> None:
    streamed, _ = build(MIXED)
    quiet = OutputBuilder(EventEmitter(), SequentialIds(), events=False)
    made = [e for d in MIXED for e in quiet.on_delta(d)] + quiet.close("completed")

    assert made == []
    assert quiet.items == streamed.items
    assert quiet.function_calls == streamed.function_calls == 2
