"""The pure parts of the local provider: output plans, the envelope shaper, the FIFO slot queue."""

from __future__ import annotations

import asyncio
import json

import pytest

from rejoinder.providers import base as p
from rejoinder.providers.local_grammar import (
    OutputPlan,
    OutputShaper,
    partial_message_content,
    plan_output,
    template_messages,
)
from rejoinder.providers.local_queue import SlotQueue

TOOL = p.FunctionTool(
    name="lookup",
    description="Look a word up",
    parameters={"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
)


def req(**options: object) -> p.ChatRequest:
    messages = (p.ChatMessage(role="user", content="hi"),)
    return p.ChatRequest(model="m", messages=messages, **options)  # type: ignore[arg-type]


def call_ids() -> str:
    return "call_fixed"


def test_no_tools_is_free_text() -> None:
    assert plan_output(req()) == OutputPlan("text")
    assert plan_output(req(tools=(TOOL,), tool_choice="none")) == OutputPlan("text")


def test_text_format_constrains_free_text() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    plan = plan_output(
        req(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    )
    assert (plan.mode, plan.schema) == ("text", schema)
    assert plan_output(req(response_format={"type": "json_object"})).schema == {"type": "object"}


def test_auto_offers_the_message_and_one_branch_per_tool() -> None:
    plan = plan_output(req(tools=(TOOL,)))
    assert plan.mode == "envelope"
    assert plan.schema is not None
    branches = plan.schema["anyOf"]
    assert isinstance(branches, list)
    assert [b["properties"]["type"] for b in branches] == [{"const": "message"}, {"const": "tool_call"}]
    assert branches[1]["properties"]["name"] == {"const": "lookup"}
    assert branches[1]["properties"]["arguments"] == TOOL.parameters
    assert plan.hint is not None and "lookup" in plan.hint


def test_right_after_a_tool_result_auto_answers_instead_of_calling_again() -> None:
    call = p.ToolCall(id="call_1", name="lookup", arguments='{"word": "otter"}')
    messages = (
        p.ChatMessage(role="user", content="what is an otter?"),
        p.ChatMessage(role="assistant", content=None, tool_calls=(call,)),
        p.ChatMessage(role="tool", content="a mammal", tool_call_id="call_1"),
    )
    after = plan_output(p.ChatRequest(model="m", messages=messages, tools=(TOOL,)))
    assert after == OutputPlan("text")
    forced = p.ChatRequest(model="m", messages=messages, tools=(TOOL,), tool_choice="required")
    assert plan_output(forced).mode == "envelope"  # a client that asks for another call still gets one


def test_required_drops_the_message_branch_and_named_uses_the_parameters() -> None:
    required = plan_output(req(tools=(TOOL,), tool_choice="required"))
    assert required.schema is not None and len(required.schema["anyOf"]) == 1  # type: ignore[arg-type]
    named = plan_output(req(tools=(TOOL,), tool_choice=p.NamedToolChoice("lookup")))
    assert (named.mode, named.schema, named.forced_tool) == ("arguments", TOOL.parameters, "lookup")


def test_a_forced_tool_that_is_not_offered_is_a_400() -> None:
    with pytest.raises(p.UpstreamError) as raised:
        plan_output(req(tools=(TOOL,), tool_choice=p.NamedToolChoice("other")))
    assert raised.value.status == 400


def test_message_content_streams_as_it_is_written() -> None:
    shaper = OutputShaper(plan_output(req(tools=(TOOL,))), call_ids)
    out: list[p.ChatDelta] = []
    for piece in ['{"type": ', '"message", "con', 'tent": "Hel', "lo\\", "n\\u00e9", '!"}']:
        out += shaper.feed(piece)
    out += shaper.finish("stop")
    assert out == [
        p.TextDelta("Hel"),
        p.TextDelta("lo"),
        p.TextDelta("\né"),
        p.TextDelta("!"),
        p.FinishDelta("stop"),
    ]


def test_a_tool_call_is_emitted_whole_with_compact_arguments() -> None:
    shaper = OutputShaper(plan_output(req(tools=(TOOL,))), call_ids)
    assert shaper.feed('{"type": "tool_call", "name": "lookup", "arguments": {"word": "é"}}') == []
    call = p.ToolCallDelta(index=0, id="call_fixed", name="lookup", arguments='{"word":"é"}')
    assert shaper.finish("stop") == [call, p.FinishDelta("tool_calls")]


def test_forced_arguments_become_a_call_and_truncation_drops_it() -> None:
    plan = plan_output(req(tools=(TOOL,), tool_choice=p.NamedToolChoice("lookup")))
    shaper = OutputShaper(plan, call_ids)
    shaper.feed('{ "word" : "x" }')
    assert shaper.finish("stop")[0] == p.ToolCallDelta(0, "call_fixed", "lookup", '{"word":"x"}')
    truncated = OutputShaper(plan, call_ids)
    truncated.feed('{"word": "x')
    assert truncated.finish("length") == [p.FinishDelta("length")]


def test_json_content_in_the_envelope_is_emitted_as_json_text() -> None:
    plan = plan_output(req(tools=(TOOL,), response_format={"type": "json_object"}))
    shaper = OutputShaper(plan, call_ids)
    assert shaper.feed('{"type": "message", "content": {"a": [1, 2]}}') == []
    assert shaper.finish("stop") == [p.TextDelta('{"a":[1,2]}'), p.FinishDelta("stop")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type": "tool_call"', None),
        ('{"type":"message","content":"', ""),
        ('{"type":"message","content":"a\\', "a"),
        ('{"type":"message","content":"a\\u00', "a"),
        ('{"type":"message","content":"a\\ud83d', "a"),
        ('{"type":"message","content":"a\\ud83d\\ude00', "a\U0001f600"),
        ('{"type":"message","content":"done"}', "done"),
    ],
)
def test_partial_message_content(raw: str, expected: str | None) -> None:
    assert partial_message_content(raw) == expected


def test_template_messages_put_the_hint_in_the_system_turn_and_render_tool_turns() -> None:
    call = p.ToolCall(id="c1", name="lookup", arguments='{"word":"x"}')
    messages = (
        p.ChatMessage(role="developer", content="Be brief."),
        p.ChatMessage(role="user", content=(p.TextPart("look "), p.TextPart("up x"))),
        p.ChatMessage(role="assistant", tool_calls=(call,)),
        p.ChatMessage(role="tool", content="a letter", tool_call_id="c1"),
        p.ChatMessage(role="user", content="and y?"),
    )
    request = p.ChatRequest(model="m", messages=messages, tools=(TOOL,))
    out = template_messages(request, plan_output(request))
    assert [m.role for m in out] == ["system", "user", "assistant", "user", "user"]
    assert out[0].content.startswith("Be brief.\n\nYou can call these tools:")
    assert out[1].content == "look up x"
    assert json.loads(out[2].content) == {
        "type": "tool_call",
        "name": "lookup",
        "arguments": {"word": "x"},
    }
    assert out[3].content == "Result of the call to lookup: a letter"


def test_images_are_refused() -> None:
    image = p.ChatMessage(role="user", content=(p.ImagePart("data:image/png;base64,AA"),))
    request = p.ChatRequest(model="m", messages=(image,))
    with pytest.raises(p.UpstreamError):
        template_messages(request, plan_output(request))


async def test_slot_queue_is_fifo_bounded_and_survives_cancelled_waiters() -> None:
    slots = SlotQueue(max_waiting=2, retry_after_s=5)
    await slots.acquire()
    order: list[str] = []

    async def wait(name: str) -> None:
        await slots.acquire()
        order.append(name)
        slots.release()

    first, second = asyncio.create_task(wait("first")), asyncio.create_task(wait("second"))
    await asyncio.sleep(0)
    with pytest.raises(p.UpstreamError) as full:
        await slots.acquire()
    assert (full.value.status, full.value.retry_after) == (503, "5")
    first.cancel()
    await asyncio.sleep(0)
    slots.release()
    await second
    assert order == ["second"]
    assert first.cancelled()
    assert not slots.busy
    assert slots.waiting == 0
