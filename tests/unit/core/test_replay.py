"""The end of a run whose server is gone, told from the events it kept."""

from __future__ import annotations

from rejoinder.core.background.replay import failed_at_end, output_so_far
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.content_pb2 import OutputText, ReasoningText, StreamedContent
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import FunctionToolCall, OutputItem, OutputMessage, ReasoningItem
from rejoinder.responses.v1.response_pb2 import Response

LOST = ApiError(ErrorKind.INTERNAL, "The server running this background response stopped.")


def _events() -> list[ResponseStreamEvent]:
    """A reasoning item done, a message half written, a function call half streamed."""
    reasoning = OutputItem(reasoning=ReasoningItem(id="rs_1", content=[ReasoningText(text="think")]))
    message = OutputItem(message=OutputMessage(id="msg_1", role="assistant", status="in_progress"))
    call = OutputItem(function_call=FunctionToolCall(id="fc_1", call_id="c1", name="f", status="in_progress"))
    kinds: list[dict[str, object]] = [
        {"response_created": ev.ResponseCreatedEvent(response=Response(id="resp_1", status="in_progress"))},
        {
            "output_item_added": ev.OutputItemAddedEvent(
                output_index=0, item=OutputItem(reasoning=ReasoningItem(id="rs_1"))
            )
        },
        {"output_item_done": ev.OutputItemDoneEvent(output_index=0, item=reasoning)},
        {"output_item_added": ev.OutputItemAddedEvent(output_index=1, item=message)},
        {
            "content_part_added": ev.ContentPartAddedEvent(
                output_index=1,
                item_id="msg_1",
                content_index=0,
                part=StreamedContent(output_text=OutputText()),
            )
        },
        {
            "output_text_delta": ev.OutputTextDeltaEvent(
                output_index=1, item_id="msg_1", content_index=0, delta="Hel"
            )
        },
        {
            "output_text_delta": ev.OutputTextDeltaEvent(
                output_index=1, item_id="msg_1", content_index=0, delta="lo"
            )
        },
        {"output_item_added": ev.OutputItemAddedEvent(output_index=2, item=call)},
        {
            "function_call_arguments_delta": ev.FunctionCallArgumentsDeltaEvent(
                output_index=2, item_id="fc_1", delta='{"a"'
            )
        },
    ]
    return [ResponseStreamEvent(sequence_number=n, **kind) for n, kind in enumerate(kinds)]  # type: ignore[arg-type]


def test_the_output_so_far_keeps_done_items_and_ends_the_rest_incomplete() -> None:
    reasoning, message, call = output_so_far(_events())
    assert reasoning.reasoning.content[0].text == "think" and not reasoning.reasoning.HasField("status")
    assert message.message.status == "incomplete"
    assert [c.output_text.text for c in message.message.content] == ["Hello"]
    assert (call.function_call.status, call.function_call.arguments) == ("incomplete", '{"a"')


def test_nothing_kept_is_no_output() -> None:
    assert output_so_far([]) == []


def test_the_stream_is_closed_by_error_and_response_failed_numbered_after_the_last() -> None:
    response = Response(id="resp_1", status="in_progress", background=True)
    failed, closing = failed_at_end(response, _events(), LOST, now=1_700_000_123)
    assert (failed.status, failed.completed_at, failed.error.code) == (
        "failed",
        1_700_000_123,
        "server_error",
    )
    assert failed.error.message == LOST.message
    assert [o.WhichOneof("item") for o in failed.output] == ["reasoning", "message", "function_call"]
    assert [(e.sequence_number, e.WhichOneof("event")) for e in closing] == [
        (9, "error"),
        (10, "response_failed"),
    ]
    assert closing[0].error.message == LOST.message and closing[0].error.error.type == "server_error"
    assert closing[1].response_failed.response == failed
    assert response.status == "in_progress"  # the given response is left as it was
