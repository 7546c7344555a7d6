"""Server-sent event frames as OpenAI's clients parse them."""

from __future__ import annotations

import json

from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.sse import DONE, KEEPALIVE, frame


def test_frame_is_event_line_data_line_and_blank_line() -> None:
    payload: dict[str, object] = {"type": "response.output_text.delta", "sequence_number": 4, "delta": "Hi"}

    assert frame(payload) == (
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
        b'"sequence_number":4,"delta":"Hi"}\n\n'
    )


def test_data_is_one_line_of_json_even_when_the_text_has_newlines() -> None:
    payload: dict[str, object] = {"type": "response.output_text.done", "text": "line one\nline two\r\n\n"}

    raw = frame(payload)

    assert raw.endswith(b"\n\n")
    lines = raw[:-2].split(b"\n")
    assert len(lines) == 2
    assert lines[0] == b"event: response.output_text.done"
    assert lines[1].startswith(b"data: ")
    assert json.loads(lines[1][len(b"data: ") :]) == payload


def test_non_ascii_text_survives_as_utf8() -> None:
    payload: dict[str, object] = {"type": "response.output_text.delta", "delta": "héllo 👋"}

    raw = frame(payload)

    data = raw.split(b"\n")[1][len(b"data: ") :]
    assert json.loads(data.decode("utf-8")) == payload


def test_an_encoded_event_frames_under_its_own_type() -> None:
    event = ev.ResponseStreamEvent(
        sequence_number=2,
        function_call_arguments_delta=ev.FunctionCallArgumentsDeltaEvent(
            output_index=1, item_id="fc_1", delta='{"city":'
        ),
    )
    payload = OpenAIJson().encode(event)
    assert isinstance(payload, dict)

    raw = frame(payload)

    head, data = raw[:-2].split(b"\n")
    assert head == b"event: response.function_call_arguments.delta"
    assert json.loads(data[len(b"data: ") :]) == {
        "type": "response.function_call_arguments.delta",
        "sequence_number": 2,
        "output_index": 1,
        "item_id": "fc_1",
        "delta": '{"city":',
    }


def test_done_frame() -> None:
    assert DONE == b"data: [DONE]\n\n"


def test_keepalive_is_an_sse_comment() -> None:
    assert KEEPALIVE.startswith(b":")
    assert KEEPALIVE.endswith(b"\n\n")
