"""Server-sent event frames as OpenAI's clients parse them."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from rejoinder.core.run.events import EventEmitter
from rejoinder.core.run.output import OutputBuilder
from rejoinder.providers import base as p
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.sse import DONE, KEEPALIVE, EventFrames, frame
from tests.fakes import SequentialIds


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


# ---- the frames of a stream: deltas spliced into pieces the codec made --------------------------

CODEC = OpenAIJson()
TRICKY = [
    "Hel",
    "lo",
    "",
    '"quoted" \\ back',
    "line\nbreak\r\n",
    "\x00\x1f\x7f",
    "héllo 👋",
    "\u2028",
    "</script>",
]


def _stream_events() -> list[ev.ResponseStreamEvent]:
    """A stream the way the service builds it: reasoning, text (some with logprobs), a refusal, two
    function calls, sequence numbers past 9, 99 and 999."""
    emitter = EventEmitter()
    builder = OutputBuilder(emitter, SequentialIds())
    deltas: list[p.ChatDelta] = [p.ReasoningDelta(t) for t in TRICKY]
    deltas += [p.TextDelta(t) for t in TRICKY]
    deltas.append(p.TextDelta("lp", (p.TokenLogprob("lp", -0.5, (108, 112)),)))
    deltas += [p.TextDelta(f"w{i} ") for i in range(1000)]
    deltas += [p.RefusalDelta(t) for t in TRICKY]
    deltas += [p.ToolCallDelta(0, "call_a", "f", ""), *(p.ToolCallDelta(0, arguments=t) for t in TRICKY)]
    deltas += [p.ToolCallDelta(1, "call_b", "g", '{"x":'), p.ToolCallDelta(1, arguments="1}")]
    events = [e for d in deltas for e in builder.on_delta(d)]
    return [*events, *builder.close("completed")]


class CountingCodec(OpenAIJson):
    def __init__(self) -> None:
        super().__init__()
        self.encoded = 0

    def encode(self, msg: Message) -> object:
        self.encoded += 1
        return super().encode(msg)


def test_stream_frames_are_the_codecs_byte_for_byte() -> None:
    codec = CountingCodec()
    framer = EventFrames(codec)
    events = _stream_events()
    assert len(events) > 1000

    for event in events:
        assert framer.frame(event) == frame(CODEC.encode(event)), event  # type: ignore[arg-type]
    assert codec.encoded < 100, "a part's deltas after its first are not encoded again"


@pytest.mark.parametrize(
    "make",
    [p.TextDelta, p.ReasoningDelta, p.RefusalDelta, lambda t: p.ToolCallDelta(0, "call_a", "f", t)],
    ids=["text", "reasoning", "refusal", "arguments"],
)
def test_each_kind_of_delta_is_spliced(make: Callable[[str], p.ChatDelta]) -> None:
    builder = OutputBuilder(EventEmitter(), SequentialIds())
    events = [e for i in range(200) for e in builder.on_delta(make(f"d{i}"))]
    codec = CountingCodec()
    framer = EventFrames(codec)

    assert [framer.frame(e) for e in events] == [frame(CODEC.encode(e)) for e in events]  # type: ignore[arg-type]
    assert codec.encoded < 20, "the deltas of a part after its first are not encoded"


DELTA_CASES = {
    "output_text_delta": ev.OutputTextDeltaEvent,
    "refusal_delta": ev.RefusalDeltaEvent,
    "reasoning_text_delta": ev.ReasoningTextDeltaEvent,
    "function_call_arguments_delta": ev.FunctionCallArgumentsDeltaEvent,
    "reasoning_summary_text_delta": ev.ReasoningSummaryTextDeltaEvent,
    "mcp_call_arguments_delta": ev.McpCallArgumentsDeltaEvent,
}


@st.composite
def _delta_events(draw: st.DrawFn) -> ev.ResponseStreamEvent:
    case = draw(st.sampled_from(sorted(DELTA_CASES)))
    cls = DELTA_CASES[case]
    fields: dict[str, object] = {"delta": draw(st.text())}
    for name in cls.DESCRIPTOR.fields_by_name:
        if name in ("output_index", "content_index", "summary_index"):
            fields[name] = draw(st.integers(0, 3))
        elif name == "item_id":
            fields[name] = draw(st.sampled_from(["msg_1", "rs_2", "fc_3", 'q"uote']))
        elif name == "obfuscation" and draw(st.booleans()):
            fields[name] = draw(st.text(max_size=5))
    message = cls(**fields)  # type: ignore[arg-type]
    sequence = draw(st.integers(0, 2**31 - 1))
    return ev.ResponseStreamEvent(sequence_number=sequence, **{case: message})  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(_delta_events(), min_size=1, max_size=8))
def test_any_delta_frames_as_the_codec_frames_it(events: list[ev.ResponseStreamEvent]) -> None:
    framer = EventFrames(CODEC)
    for event in events:
        assert framer.frame(event) == frame(CODEC.encode(event))  # type: ignore[arg-type]


def _lifecycle(case: str, number: int, response: object) -> ev.ResponseStreamEvent:
    return ev.ResponseStreamEvent(sequence_number=number, **{case: {"response": response}})  # type: ignore[arg-type]


def test_the_response_the_opening_events_repeat_is_encoded_once_and_framed_as_the_codec_frames_it() -> None:
    started = Response(id="resp_1", object="response", status="in_progress", model="m", metadata={"a": "1"})
    queued = Response(id="resp_1", object="response", status="queued", model="m", metadata={"a": "1"})
    done = Response(id="resp_1", object="response", status="completed", model="m", metadata={"a": "1"})
    events = [
        _lifecycle("response_created", 0, queued),
        _lifecycle("response_queued", 1, queued),
        _lifecycle("response_in_progress", 2, started),  # changed: encoded again
        _lifecycle("response_completed", 3, done),
    ]
    codec = CountingCodec()
    framer = EventFrames(codec)

    assert [framer.frame(e) for e in events] == [frame(CODEC.encode(e)) for e in events]  # type: ignore[arg-type]
    alone = []
    for event in events:
        counting = CountingCodec()
        EventFrames(counting).frame(event)
        alone.append(counting.encoded)
    assert codec.encoded == sum(alone) - alone[1], "the queued event reused the created one's response"


def test_primed_opening_events_get_the_frames_they_would_have_had_without_encoding_again() -> None:
    response = Response(id="resp_1", object="response", status="in_progress", model="m")
    opening = [_lifecycle("response_created", 0, response), _lifecycle("response_in_progress", 1, response)]
    rest = _stream_events()[:3]
    codec = CountingCodec()
    framer = EventFrames(codec)

    framer.prime(opening)
    primed = codec.encoded
    frames = [framer.frame(e) for e in opening]
    assert codec.encoded == primed, "the primed events were not encoded again"
    frames += [framer.frame(e) for e in rest]

    assert frames == [frame(CODEC.encode(e)) for e in [*opening, *rest]]  # type: ignore[arg-type]


def test_a_primed_frame_goes_only_to_its_own_event_in_its_turn() -> None:
    response = Response(id="resp_1", object="response", status="in_progress", model="m")
    opening = [_lifecycle("response_created", 0, response), _lifecycle("response_in_progress", 1, response)]
    other = _lifecycle("response_created", 0, Response(id="resp_2", object="response", status="in_progress"))
    framer = EventFrames(CODEC)
    framer.prime(opening)

    assert framer.frame(other) == frame(CODEC.encode(other))  # type: ignore[arg-type]
    assert framer.frame(opening[1]) == frame(CODEC.encode(opening[1]))  # type: ignore[arg-type]
