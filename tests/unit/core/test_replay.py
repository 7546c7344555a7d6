"""The end of a run whose server is gone, told from the events it kept."""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor

from rejoinder.core.background.replay import (
    ARGUMENTS_DELTAS,
    CALLS,
    WITH_STATUS,
    failed_at_end,
    output_so_far,
)
from rejoinder.errors import ApiError, ErrorKind
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.content_pb2 import OutputText, ReasoningText, StreamedContent
from rejoinder.responses.v1.events_pb2 import ResponseStreamEvent
from rejoinder.responses.v1.items_pb2 import (
    CompactionItem,
    FileSearchCall,
    FunctionToolCall,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    OutputItem,
    OutputMessage,
    ReasoningItem,
)
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


def _cases(oneof: Descriptor, name: str) -> dict[str, Descriptor]:
    return {f.name: f.message_type for f in oneof.oneofs_by_name[name].fields}


def test_every_arguments_delta_event_is_read() -> None:
    """Each `*_arguments_delta` case of the event (the proto may grow one) has its reader; a function
    call's is read with the other deltas."""
    cases = _cases(ResponseStreamEvent.DESCRIPTOR, "event")
    deltas = {name for name in cases if name.endswith("_arguments_delta")}
    assert deltas == {"function_call_arguments_delta", *ARGUMENTS_DELTAS}
    for name in deltas:
        assert {"output_index", "delta"} <= set(cases[name].fields_by_name)


def test_every_kind_of_item_with_arguments_or_a_status_is_in_its_table() -> None:
    cases = _cases(OutputItem.DESCRIPTOR, "item")
    assert set(CALLS) == {n for n, m in cases.items() if "arguments" in m.fields_by_name}
    assert set(WITH_STATUS) == {n for n, m in cases.items() if "status" in m.fields_by_name}


def test_an_mcp_calls_arguments_go_to_the_call_at_its_index_and_unfinished_items_are_incomplete() -> None:
    items = [
        OutputItem(mcp_call=McpCall(id="mcp_1", arguments="{", status="in_progress")),
        OutputItem(mcp_approval_request=McpApprovalRequest(id="mcpr_1", arguments="[")),
        OutputItem(function_call=FunctionToolCall(id="fc_1", arguments="(")),
        OutputItem(file_search_call=FileSearchCall(id="fs_1", status="searching")),
        OutputItem(mcp_list_tools=McpListTools(id="mcpl_1")),
        OutputItem(compaction=CompactionItem(id="cmp_1")),
    ]
    added = [
        ResponseStreamEvent(output_item_added=ev.OutputItemAddedEvent(output_index=n, item=item))
        for n, item in enumerate(items)
    ]
    pieces = [
        ResponseStreamEvent(mcp_call_arguments_delta=ev.McpCallArgumentsDeltaEvent(output_index=n, delta="1"))
        for n in (0, 1, 2, 3, 4, 5, 9)
    ]
    out = output_so_far([*added, *pieces])
    assert (out[0].mcp_call.arguments, out[0].mcp_call.status) == ("{1", "incomplete")
    assert out[1].mcp_approval_request.arguments == "[1"
    assert (out[2].function_call.arguments, out[2].function_call.status) == ("(1", "incomplete")
    assert out[3].file_search_call.status == "incomplete"
    assert out[4:] == items[4:]
