"""Fitting a later turn of the tool loop: the tool outputs that joined the context are counted, served
tools' definitions too, and the oldest turns go (auto) or the response fails (disabled)."""

from __future__ import annotations

import pytest

from rejoinder.core.checks.validation import ValidatedRequest, validate
from rejoinder.core.context.fitting import fit_turn
from rejoinder.core.run.chat_mapping import TurnInput
from rejoinder.errors import ApiError
from rejoinder.providers import base as p
from rejoinder.providers.registry import Route
from rejoinder.responses.v1.content_pb2 import Content, ContentList, FunctionOutput, InputText, MessageContent
from rejoinder.responses.v1.items_pb2 import FunctionCallOutput, FunctionToolCall, InputItem, Message
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import ScriptedProvider

CODEC = OpenAIJson()
SERVED = p.FunctionTool("search_docs", "Searches the docs", {"type": "object", "properties": {"q": {}}})


def vreq(**body: object) -> ValidatedRequest:
    return validate(CODEC.decode({"model": "m", "input": "x", **body}, CreateRequest), stream=False)


def message(role: str, text: str) -> InputItem:
    content = MessageContent(parts=ContentList(items=[Content(input_text=InputText(text=text))]))
    return InputItem(message=Message(role=role, content=content))


def turn(tool_output_words: int) -> TurnInput:
    items = []
    for n in range(8):
        items += [message("user", f"question {n} " + "blah " * 30), message("assistant", f"answer {n}")]
    items += [
        message("user", "look it up"),
        InputItem(function_call=FunctionToolCall(call_id="c1", name="search_docs", arguments="{}")),
        InputItem(
            function_call_output=FunctionCallOutput(
                call_id="c1", output=FunctionOutput(text="found " * tool_output_words)
            )
        ),
    ]
    return TurnInput(items=items, instructions="Be brief.", upstream_model="m", extra_tools=(SERVED,))


def route(window: int | None) -> Route:
    return Route(ScriptedProvider(), "m", context_window=window)


async def test_a_turn_that_fits_is_sent_whole() -> None:
    chat = await fit_turn(vreq(), turn(5), route(100_000))

    assert len(chat.messages) == 1 + 16 + 3 and chat.tools == (SERVED,)


async def test_auto_leaves_out_the_oldest_turns_never_the_tool_output() -> None:
    chat = await fit_turn(vreq(truncation="auto"), turn(650), route(1200))

    texts = [str(m.content) for m in chat.messages]
    assert texts[0] == "Be brief." and texts[-1].startswith("found found")
    assert not any(t.startswith("question 0 ") for t in texts)
    assert any(m.role == "assistant" and m.tool_calls for m in chat.messages)  # the call stays with it


async def test_disabled_fails_when_tool_outputs_overflow() -> None:
    with pytest.raises(ApiError) as info:
        await fit_turn(vreq(), turn(1500), route(1200))

    assert info.value.code == "context_length_exceeded"


async def test_no_window_checks_nothing() -> None:
    chat = await fit_turn(vreq(), turn(5000), route(None))

    assert len(chat.messages) == 1 + 16 + 3
