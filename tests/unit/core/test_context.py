"""The context a response is generated from: the stored chain, then this request's input."""

from __future__ import annotations

import pytest

from rejoinder.core.checks.validation import ValidatedRequest, validate
from rejoinder.core.context.assemble import Context, assemble, output_as_input
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1.content_pb2 import (
    Content,
    ContentList,
    InputText,
    MessageContent,
    OutputContent,
    OutputText,
    Refusal,
)
from rejoinder.responses.v1.items_pb2 import (
    FunctionCallOutput,
    FunctionToolCall,
    InputItem,
    Message,
    OutputItem,
    OutputMessage,
)
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest
from rejoinder.store.items import item_id
from rejoinder.wire.openai_json import OpenAIJson
from tests.fakes import InMemoryStore, SequentialIds

CODEC = OpenAIJson()


def vreq(**body: object) -> ValidatedRequest:
    return validate(CODEC.decode({"model": "m", **body}, CreateRequest), stream=False)


def user(item_id: str, text: str) -> InputItem:
    content = MessageContent(parts=ContentList(items=[Content(input_text=InputText(text=text))]))
    return InputItem(message=Message(id=item_id, role="user", content=content, status="completed"))


def said(item_id: str, text: str) -> OutputItem:
    return OutputItem(
        message=OutputMessage(
            id=item_id,
            role="assistant",
            status="completed",
            content=[OutputContent(output_text=OutputText(text=text))],
        )
    )


def called(item_id: str, call_id: str) -> OutputItem:
    return OutputItem(
        function_call=FunctionToolCall(
            id=item_id, call_id=call_id, name="get_weather", arguments='{"city":"Paris"}', status="completed"
        )
    )


def answered(item_id: str, call_id: str, text: str) -> InputItem:
    out = FunctionCallOutput(id=item_id, call_id=call_id, status="completed")
    out.output.text = text
    return InputItem(function_call_output=out)


def text_of(item: InputItem) -> str:
    parts = item.message.content.parts.items
    return "".join(p.input_text.text or p.output_text.text for p in parts)


@pytest.fixture
async def store() -> InMemoryStore:
    """resp_1: user asks, assistant says and calls a tool. resp_2: the tool answers, assistant replies."""
    s = InMemoryStore()
    first = Response(
        id="resp_1",
        object="response",
        status="completed",
        instructions="Be terse.",
        output=[said("msg_a1", "Let me check."), called("fc_1", "call_1")],
    )
    await s.save(first, [user("msg_u1", "Weather in Paris?")])
    second = Response(
        id="resp_2",
        object="response",
        status="completed",
        previous_response_id="resp_1",
        instructions="Be terse.",
        output=[said("msg_a2", "18C and sunny.")],
    )
    await s.save(second, [answered("fco_1", "call_1", "18C")])
    return s


async def test_no_previous_response_is_just_the_new_input(store: InMemoryStore) -> None:
    ctx = await assemble(vreq(input="hi"), store, SequentialIds())

    assert ctx.history == ()
    assert len(ctx.new_items) == 1
    assert text_of(ctx.new_items[0]) == "hi"


async def test_chain_is_earlier_inputs_then_outputs_then_new_input(store: InMemoryStore) -> None:
    ctx = await assemble(vreq(input="Thanks!", previous_response_id="resp_2"), store, SequentialIds())

    assert [item_id(i) for i in ctx.history] == ["msg_u1", "msg_a1", "fc_1", "fco_1", "msg_a2"]
    assert [item_id(i) for i in ctx.new_items] == ["msg_0001"]
    assert ctx.items == ctx.history + ctx.new_items
    assert text_of(ctx.items[-1]) == "Thanks!"


async def test_earlier_outputs_come_back_as_input_items(store: InMemoryStore) -> None:
    ctx = await assemble(vreq(input="next", previous_response_id="resp_1"), store, SequentialIds())

    message, call = ctx.history[1], ctx.history[2]
    assert message.message.role == "assistant"
    assert message.message.content.parts.items[0].output_text.text == "Let me check."
    assert message.message.status == "completed"
    assert call.function_call.call_id == "call_1"
    assert call.function_call.arguments == '{"city":"Paris"}'


async def test_the_chain_can_start_midway(store: InMemoryStore) -> None:
    ctx = await assemble(vreq(input="again", previous_response_id="resp_1"), store, SequentialIds())

    assert [item_id(i) for i in ctx.history] == ["msg_u1", "msg_a1", "fc_1"]


async def test_unknown_previous_response(store: InMemoryStore) -> None:
    with pytest.raises(ApiError) as info:
        await assemble(vreq(input="hi", previous_response_id="resp_nope"), store, SequentialIds())

    err = info.value
    assert err.kind is ErrorKind.INVALID_REQUEST
    assert err.param == "previous_response_id"
    assert err.code == "previous_response_not_found"
    assert "resp_nope" in err.message


async def test_new_items_get_ids_with_openais_prefixes(store: InMemoryStore) -> None:
    request = vreq(
        input=[
            {"role": "user", "content": "Call it."},
            {"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_9", "output": "done"},
            {"type": "reasoning", "summary": []},
            {"role": "user", "content": "And again."},
        ]
    )

    ctx = await assemble(request, store, SequentialIds())

    assert [item_id(i) for i in ctx.new_items] == ["msg_0001", "fc_0001", "fco_0001", "rs_0001", "msg_0002"]
    assert ctx.new_items[0].message.status == "completed"
    assert ctx.new_items[2].function_call_output.status == "completed"


async def test_new_function_calls_are_stored_completed(store: InMemoryStore) -> None:
    """Listed input items carry a status; the SDK's function call item requires one."""
    request = vreq(input=[{"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"}])

    ctx = await assemble(request, store, SequentialIds())

    assert ctx.new_items[0].function_call.status == "completed"


async def test_items_that_carry_an_id_keep_it(store: InMemoryStore) -> None:
    request = vreq(input=[{"id": "msg_mine", "role": "user", "content": "hi", "status": "completed"}])

    ctx = await assemble(request, store, SequentialIds())

    assert item_id(ctx.new_items[0]) == "msg_mine"


async def test_assigning_ids_does_not_change_the_validated_request(store: InMemoryStore) -> None:
    request = vreq(input=[{"role": "user", "content": "hi"}])

    await assemble(request, store, SequentialIds())

    assert request.input_items[0].message.id == ""
    assert request.params.input.items.items[0].message.id == ""


async def test_item_reference_resolves_to_the_stored_item(store: InMemoryStore) -> None:
    request = vreq(
        input=[{"type": "item_reference", "id": "msg_u1"}, {"role": "user", "content": "Same again."}],
        previous_response_id="resp_2",
    )

    ctx = await assemble(request, store, SequentialIds())

    ref = ctx.new_items[0]
    assert ref.WhichOneof("item") == "message"
    assert item_id(ref) == "msg_u1"
    assert text_of(ref) == "Weather in Paris?"
    assert item_id(ctx.new_items[1]) == "msg_0001"


async def test_unknown_item_reference(store: InMemoryStore) -> None:
    request = vreq(
        input=[{"role": "user", "content": "hi"}, {"type": "item_reference", "id": "msg_ghost"}],
        previous_response_id="resp_2",
    )

    with pytest.raises(ApiError) as info:
        await assemble(request, store, SequentialIds())

    assert info.value.kind is ErrorKind.INVALID_REQUEST
    assert info.value.param == "input[1].id"
    assert info.value.code == "item_not_found"


async def test_function_call_output_answering_a_stored_call(store: InMemoryStore) -> None:
    request = vreq(
        input=[{"type": "function_call_output", "call_id": "call_1", "output": "19C"}],
        previous_response_id="resp_1",
    )

    ctx = await assemble(request, store, SequentialIds())

    assert ctx.new_items[0].function_call_output.call_id == "call_1"


async def test_function_call_output_with_no_matching_call(store: InMemoryStore) -> None:
    request = vreq(input=[{"type": "function_call_output", "call_id": "call_ghost", "output": "?"}])

    with pytest.raises(ApiError) as info:
        await assemble(request, store, SequentialIds())

    assert info.value.kind is ErrorKind.INVALID_REQUEST
    assert info.value.param == "input"
    assert "call_ghost" in info.value.message


async def test_function_call_output_not_matching_any_call_in_the_chain(store: InMemoryStore) -> None:
    request = vreq(
        input=[{"type": "function_call_output", "call_id": "call_2", "output": "?"}],
        previous_response_id="resp_2",
    )

    with pytest.raises(ApiError) as info:
        await assemble(request, store, SequentialIds())

    assert info.value.kind is ErrorKind.INVALID_REQUEST


async def test_instructions_are_never_inherited(store: InMemoryStore) -> None:
    ctx = await assemble(vreq(input="hi", previous_response_id="resp_2"), store, SequentialIds())

    assert ctx.instructions is None
    roles = {i.message.role for i in ctx.items if i.WhichOneof("item") == "message"}
    assert roles <= {"user", "assistant"}


async def test_instructions_of_this_request_are_used(store: InMemoryStore) -> None:
    ctx = await assemble(
        vreq(input="hi", previous_response_id="resp_2", instructions="Use French."), store, SequentialIds()
    )

    assert ctx.instructions == "Use French."


async def test_the_store_is_not_changed(store: InMemoryStore) -> None:
    await assemble(vreq(input="hi", previous_response_id="resp_2"), store, SequentialIds())

    page = await store.list_input_items("resp_2", after=None, before=None, limit=10, order="asc")
    assert page is not None
    assert [item_id(i) for i in page.items] == ["fco_1"]


def test_output_as_input_keeps_refusals() -> None:
    item = OutputItem(
        message=OutputMessage(
            id="msg_r",
            role="assistant",
            status="incomplete",
            content=[
                OutputContent(output_text=OutputText(text="Partly. ")),
                OutputContent(refusal=Refusal(refusal="No more.")),
            ],
        )
    )

    as_input = output_as_input(item)

    message = as_input.message
    assert (message.id, message.role, message.status) == ("msg_r", "assistant", "incomplete")
    kinds = [p.WhichOneof("part") for p in message.content.parts.items]
    assert kinds == ["output_text", "refusal"]
    assert message.content.parts.items[1].refusal.refusal == "No more."


def test_context_items_are_history_then_new() -> None:
    a, b = user("msg_1", "a"), user("msg_2", "b")

    assert Context(history=(a,), new_items=(b,), instructions=None).items == (a, b)
