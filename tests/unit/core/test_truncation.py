"""`truncation`: "disabled" refuses a context that does not fit the window, "auto" leaves out its oldest
turns (never instructions, system messages, a call without its output, or the newest turn)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rejoinder.core.context.tokens import Window, fits_by_bytes, window_of
from rejoinder.core.context.truncation import droppable_turns, fit
from rejoinder.core.run.chat_mapping import chat_messages
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.providers import base as p
from rejoinder.responses.v1.content_pb2 import Content, ContentList, FunctionOutput, InputText, MessageContent
from rejoinder.responses.v1.items_pb2 import FunctionCallOutput, FunctionToolCall, InputItem, Message

INSTRUCTIONS = "Answer in one word."


def message(role: str, text: str) -> InputItem:
    content = MessageContent(parts=ContentList(items=[Content(input_text=InputText(text=text))]))
    return InputItem(message=Message(role=role, content=content))


def call(call_id: str) -> InputItem:
    return InputItem(
        function_call=FunctionToolCall(
            call_id=call_id, name="lookup", arguments='{"q": "x"}', status="completed"
        )
    )


def output(call_id: str, text: str) -> InputItem:
    return InputItem(
        function_call_output=FunctionCallOutput(call_id=call_id, output=FunctionOutput(text=text))
    )


class WordCounter:
    """Counts the words of every message (the 'model's tokenizer'), and how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    async def count_tokens(self, req: p.ChatRequest) -> p.TokenCount:
        self.calls += 1
        words = 0
        for m in req.messages:
            words += (
                1 + len(str(m.content or "").split()) + sum(len(c.arguments.split()) for c in m.tool_calls)
            )
        return p.TokenCount(words, exact=True)


async def chat_of(items: Sequence[InputItem]) -> p.ChatRequest:
    return p.ChatRequest(model="m", messages=chat_messages(items, INSTRUCTIONS))


def texts(items: Sequence[InputItem]) -> list[str]:
    out = []
    for item in items:
        kind = item.WhichOneof("item")
        if kind == "message":
            out.append(item.message.content.parts.items[0].input_text.text)
        elif kind == "function_call":
            out.append(f"call {item.function_call.call_id}")
        else:
            out.append(f"output {item.function_call_output.call_id}")
    return out


def conversation(turns: int, words: int = 20) -> list[InputItem]:
    items = [message("system", "You are a careful assistant.")]
    for n in range(turns):
        items.append(message("user", f"question {n} " + "blah " * words))
        items.append(message("assistant", f"answer {n} " + "blah " * words))
    items.append(message("user", "what did I ask last?"))
    return items


def test_turns_start_at_user_messages_and_leave_out_pinned_items_and_the_newest_turn() -> None:
    items = [
        message("system", "sys"),
        message("user", "u1"),
        message("assistant", "a1"),
        message("user", "u2"),
        call("c1"),
        output("c1", "o1"),
        message("assistant", "a2"),
        message("developer", "dev"),
        message("user", "u3"),
    ]

    assert droppable_turns(items) == [[1, 2], [3, 4, 5, 6]]


def test_an_output_after_a_user_message_keeps_its_call_in_its_turn() -> None:
    items = [
        message("user", "u1"),
        call("c1"),
        message("user", "u2"),  # sent between the call and its output
        output("c1", "o1"),
        message("user", "u3"),
    ]

    assert droppable_turns(items) == [[0, 1, 2, 3]]  # the call's turn runs to its output


async def test_disabled_refuses_an_overflow_as_openai_does() -> None:
    counter = WordCounter()

    with pytest.raises(ApiError) as info:
        await fit(conversation(10), Window(200, 50), "disabled", chat_of, counter)

    error = info.value
    assert (error.kind, error.code, error.param) == (
        ErrorKind.INVALID_REQUEST,
        "context_length_exceeded",
        "input",
    )
    assert error.message == (
        "Your input exceeds the context window of this model. Please adjust your input and try again."
    )


async def test_auto_drops_the_oldest_turns_until_it_fits() -> None:
    items = conversation(10)
    counter = WordCounter()

    fitted = await fit(items, Window(200, 50), "auto", chat_of, counter)

    assert fitted.count.exact and fitted.count.tokens <= 150
    kept = texts(fitted.items)
    assert kept[0] == "You are a careful assistant."  # the system message stays
    assert kept[-1] == "what did I ask last?"
    assert kept[1].startswith("question ") and kept[2].startswith("answer ")  # whole turns go
    first_kept = int(kept[1].split()[1])
    assert first_kept > 0  # the oldest went
    assert len(kept) == 1 + 2 * (10 - first_kept) + 1  # every later turn is there
    assert fitted.dropped == 2 * first_kept
    # and no more than needed: the turn before the first kept one would not have fitted
    longer = [items[0], *items[2 * first_kept - 1 : 2 * first_kept + 1], *fitted.items[1:]]
    assert (await counter.count_tokens(await chat_of(longer))).tokens > 150


async def test_auto_never_splits_a_call_from_its_output() -> None:
    items = [message("system", "sys")]
    for n in range(6):
        items += [message("user", f"u{n} " + "w " * 20), call(f"c{n}"), output(f"c{n}", "r " * 20)]
        items.append(message("assistant", f"a{n} " + "w " * 20))
    items.append(message("user", "last"))

    fitted = await fit(items, Window(300, 100), "auto", chat_of, WordCounter())

    kept = texts(fitted.items)
    assert fitted.dropped and kept[-1] == "last"
    calls = {t.split()[1] for t in kept if t.startswith("call ")}
    outputs = {t.split()[1] for t in kept if t.startswith("output ")}
    assert calls == outputs and calls


async def test_auto_fails_when_even_the_newest_turn_does_not_fit() -> None:
    items = [message("user", "old"), message("user", "new " + "w " * 300)]

    with pytest.raises(ApiError) as info:
        await fit(items, Window(200, 50), "auto", chat_of, WordCounter())

    assert info.value.code == "context_length_exceeded"


async def test_a_wide_margin_is_not_counted_by_the_tokenizer() -> None:
    counter = WordCounter()

    fitted = await fit(conversation(2), Window(100_000, 1000), "disabled", chat_of, counter)

    assert counter.calls == 0
    assert not fitted.count.exact and fitted.dropped == 0


async def test_near_the_budget_the_tokenizer_counts() -> None:
    counter = WordCounter()
    items = conversation(2)
    words = (await counter.count_tokens(await chat_of(items))).tokens
    counter.calls = 0

    fitted = await fit(items, Window(words + 10, 10), "disabled", chat_of, counter)

    assert counter.calls == 1 and fitted.count == p.TokenCount(words, exact=True)


async def test_an_unknown_window_checks_nothing() -> None:
    counter = WordCounter()

    fitted = await fit(conversation(50), None, "disabled", chat_of, counter)

    assert counter.calls == 0 and fitted.dropped == 0


async def test_a_count_can_be_asked_for_without_a_refusal() -> None:
    counter = WordCounter()

    fitted = await fit(
        conversation(10), Window(200, 50), "disabled", chat_of, counter, exact=True, strict=False
    )

    assert fitted.count.exact and fitted.count.tokens > 150 and fitted.dropped == 0


def test_the_output_share_is_max_output_tokens_or_a_default() -> None:
    assert window_of(None, 100) is None
    assert window_of(8192, 500) == Window(8192, 500)
    assert window_of(8192, None) == Window(8192, 1024)
    assert window_of(2048, None) == Window(2048, 512)  # a quarter of a small window


def test_a_context_whose_bytes_fit_needs_no_count() -> None:
    # a token covers at least a byte; each item may add 16 tokens of template markup
    assert fits_by_bytes(text_bytes=1000, items=10, budget=1000 + 16 * 11)
    assert not fits_by_bytes(text_bytes=1000, items=10, budget=1000 + 16 * 11 - 1)
