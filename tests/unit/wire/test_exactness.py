"""The exactness gate at unit level: what the service builds, once encoded, is what OpenAI sends.

A finished response, responses echoing each kind of request setting, every kind of stream event
and stored input items are built the way the service builds them (`validate`, `initial_response`,
`OutputBuilder`, `assemble`), encoded with `OpenAIJson`, and checked three ways:

- the `openai` SDK's own pydantic types parse them, and the parse keeps everything: dumping it
  again gives back exactly the JSON sent (no value coerced or dropped);
- no key is unknown to the SDK type (pydantic keeps unknown keys as "extra"), except the few listed
  in `SDK_EXTRA_ALLOWED`, each of which DESIGN.md section 4 requires for Open Responses;
- the Open Responses models (`openresponses_types`) validate them (where it has a model: it has
  none for the input item list).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator

import openresponses_types.types as ortypes
import pydantic
import pytest
from openai.types.responses import Response as SdkResponse
from openai.types.responses import ResponseItemList as SdkItemList

from rejoinder.core.checks.validation import validate
from rejoinder.core.context.assemble import assemble
from rejoinder.core.run.echo import initial_response
from rejoinder.core.run.events import EventEmitter
from rejoinder.core.run.output import OutputBuilder
from rejoinder.providers import base as p
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.items_pb2 import FunctionToolCall, OutputItem
from rejoinder.responses.v1.response_pb2 import (
    IncompleteDetails,
    InputTokensDetails,
    OutputTokensDetails,
    Response,
    ResponseError,
    Usage,
)
from rejoinder.responses.v1.responses_service_pb2 import CreateRequest, ListInputItemsResponse
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.sse import frame
from tests.e2e.exactness import OR_EVENTS, SDK_EVENTS
from tests.fakes import InMemoryStore, SequentialIds

CODEC = OpenAIJson()
CREATED_AT = 1_700_000_000

# (SDK model, key) pairs the SDK does not declare but that we send on purpose.
SDK_EXTRA_ALLOWED = {
    # Open Responses requires these on every Response (DESIGN.md 4); OpenAI sends them too.
    ("openai.types.responses.response.Response", "presence_penalty"),
    ("openai.types.responses.response.Response", "frequency_penalty"),
    ("openai.types.responses.response.Response", "store"),
    # The streamed error carries Open Responses' nested `error` beside OpenAI's flat fields (DESIGN.md 4).
    ("openai.types.responses.response_error_event.ResponseErrorEvent", "error"),
    # `name` is sent with the finished arguments, as OpenAI's API does; this SDK version does not declare it.
    (
        "openai.types.responses.response_function_call_arguments_done_event.ResponseFunctionCallArgumentsDoneEvent",
        "name",
    ),
    # Open Responses requires `bytes` on every logprob, the SDK's streaming logprob types lack it.
    ("openai.types.responses.response_text_delta_event.Logprob", "bytes"),
    ("openai.types.responses.response_text_delta_event.LogprobTopLogprob", "bytes"),
    ("openai.types.responses.response_text_done_event.Logprob", "bytes"),
    ("openai.types.responses.response_text_done_event.LogprobTopLogprob", "bytes"),
}

# OpenAI names the raw reasoning events `response.reasoning_text.*`, Open Responses
# `response.reasoning.*` (DESIGN.md 4); the payloads are the same.
OR_TYPE_ALIASES = {
    "response.reasoning_text.delta": "response.reasoning.delta",
    "response.reasoning_text.done": "response.reasoning.done",
}


def _unknown_keys(value: object, path: str) -> Iterator[tuple[str, str, str]]:
    """(SDK model, key, where) for every key the parsed value kept as an undeclared extra."""
    if isinstance(value, pydantic.BaseModel):
        cls = type(value)
        for key in value.model_extra or {}:
            yield f"{cls.__module__}.{cls.__name__}", key, f"{path}.{key}"
        for name in cls.model_fields:
            yield from _unknown_keys(value.__dict__.get(name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _unknown_keys(v, f"{path}[{i}]")


def check_sdk(model: type[pydantic.BaseModel], body: dict[str, object]) -> None:
    parsed = model.model_validate(body)
    assert parsed.model_dump(mode="json", exclude_unset=True, by_alias=True) == body
    unknown = [where for cls, key, where in _unknown_keys(parsed, "$") if (cls, key) not in SDK_EXTRA_ALLOWED]
    assert unknown == [], f"keys unknown to the openai SDK: {unknown}"


def check_open_responses(body: dict[str, object]) -> None:
    event_type = str(body["type"])
    alias = OR_TYPE_ALIASES.get(event_type)
    if alias is not None:
        body = {**body, "type": alias}
    OR_EVENTS[str(body["type"])].model_validate(body)


# ---- the scenario -----------------------------------------------------------------------------

REQUEST = {
    "model": "gpt-4.1",
    "instructions": "Answer with the tool when you can.",
    "input": "What's the weather in Paris?",
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather by city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            "strict": True,
        }
    ],
    "metadata": {"session": "abc"},
    "max_output_tokens": 1024,
}


def _encode(message: object) -> dict[str, object]:
    body = CODEC.encode(message)  # type: ignore[arg-type]
    assert isinstance(body, dict)
    return body


def _usage() -> Usage:
    return Usage(
        input_tokens=42,
        output_tokens=17,
        total_tokens=59,
        input_tokens_details=InputTokensDetails(cached_tokens=8),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
    )


def _started() -> Response:
    vreq = validate(CODEC.decode(REQUEST, CreateRequest), stream=True)
    return initial_response(vreq, "resp_0001", CREATED_AT)


def _finish(response: Response, builder: OutputBuilder, status: str) -> Response:
    """What the orchestrator does at the end of a run."""
    done = Response()
    done.CopyFrom(response)
    done.status = status
    done.completed_at = CREATED_AT + 2
    done.output.extend(builder.items)
    done.usage.CopyFrom(_usage())
    return done


def _built(*deltas: p.ChatDelta) -> OutputBuilder:
    builder = OutputBuilder(EventEmitter(), SequentialIds())
    for delta in deltas:
        builder.on_delta(delta)
    builder.close("completed")
    return builder


def finished_response() -> Response:
    """A message with output_text, then a function call, and usage."""
    builder = _built(
        p.TextDelta("Let me check "),
        p.TextDelta("the weather."),
        p.ToolCallDelta(0, id="call_abc", name="get_weather", arguments='{"city":'),
        p.ToolCallDelta(0, arguments='"Paris"}'),
    )
    return _finish(_started(), builder, "completed")


def reasoning_response() -> Response:
    """Reasoning, then the answer."""
    builder = _built(p.ReasoningDelta("Paris is usually mild."), p.TextDelta("About 18C."))
    return _finish(_started(), builder, "completed")


def all_events() -> list[ev.ResponseStreamEvent]:
    """One stream with every kind of event the service emits."""
    emitter = EventEmitter()
    builder = OutputBuilder(emitter, SequentialIds())
    started = _started()
    events = [
        emitter.emit("response_created", ev.ResponseCreatedEvent(response=started)),
        emitter.emit("response_in_progress", ev.ResponseInProgressEvent(response=started)),
    ]
    logprob = p.TokenLogprob("Sun", -0.01, (83, 117, 110), (p.TopLogprob("Rain", -4.6, (82, 97, 105, 110)),))
    for delta in (
        p.ReasoningDelta("The user wants "),
        p.ReasoningDelta("the weather."),
        p.TextDelta("Sun", logprobs=(logprob,)),
        p.TextDelta("ny."),
        p.RefusalDelta("I can't predict tomorrow."),
        p.ToolCallDelta(0, id="call_1", name="get_weather", arguments='{"city":"Paris"}'),
        p.ToolCallDelta(1, id="call_2", name="get_weather"),
        p.ToolCallDelta(1, arguments='{"city":"Rome"}'),
    ):
        events += builder.on_delta(delta)
    events += builder.close("incomplete")
    # The terminal events carry the finished response of the main scenario (message + function call);
    # a response with a reasoning item is checked on its own below.
    answer = _built(
        p.TextDelta("Sunny."), p.ToolCallDelta(0, id="call_1", name="get_weather", arguments="{}")
    )
    completed = _finish(started, answer, "completed")
    events.append(emitter.emit("response_completed", ev.ResponseCompletedEvent(response=completed)))
    incomplete = _finish(started, answer, "incomplete")
    incomplete.incomplete_details.CopyFrom(IncompleteDetails(reason="max_output_tokens"))
    events.append(emitter.emit("response_incomplete", ev.ResponseIncompleteEvent(response=incomplete)))
    message = "The model failed: upstream returned 500"
    events.append(
        emitter.emit(
            "error",
            ev.ErrorEvent(
                code="server_error",
                message=message,
                error=ev.ErrorPayload(type="server_error", code="server_error", message=message),
            ),
        )
    )
    failed = _finish(started, answer, "failed")
    failed.error.CopyFrom(ResponseError(code="server_error", message=message))
    events.append(emitter.emit("response_failed", ev.ResponseFailedEvent(response=failed)))
    return events


FINISHED = _encode(finished_response())
EVENTS = [_encode(e) for e in all_events()]
EVENT_IDS = [f"{i:02d}-{e['type']}" for i, e in enumerate(EVENTS)]


# ---- the response -----------------------------------------------------------------------------


def test_the_scenario_is_what_it_claims() -> None:
    output = typing.cast(list[dict[str, object]], FINISHED["output"])
    assert [o["type"] for o in output] == ["message", "function_call"]
    assert FINISHED["status"] == "completed"
    assert FINISHED["usage"] is not None


def test_finished_response_passes_the_openai_sdk() -> None:
    check_sdk(SdkResponse, FINISHED)


def test_finished_response_reads_back_through_the_sdk() -> None:
    parsed = SdkResponse.model_validate(FINISHED)

    assert parsed.output_text == "Let me check the weather."
    call = parsed.output[1]
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == ("call_abc", "get_weather", '{"city":"Paris"}')
    assert parsed.usage is not None and parsed.usage.total_tokens == 59
    assert parsed.created_at == CREATED_AT
    assert isinstance(FINISHED["created_at"], int)


def test_finished_response_passes_open_responses() -> None:
    ortypes.ResponseResource.model_validate(FINISHED)


def test_response_with_a_reasoning_item_passes_the_openai_sdk() -> None:
    check_sdk(SdkResponse, _encode(reasoning_response()))


def test_response_with_a_reasoning_item_passes_open_responses() -> None:
    ortypes.ResponseResource.model_validate(_encode(reasoning_response()))


def test_in_progress_response_passes_both() -> None:
    body = _encode(_started())

    check_sdk(SdkResponse, body)
    ortypes.ResponseResource.model_validate(body)
    assert body["status"] == "in_progress"
    assert body["completed_at"] is None
    assert body["usage"] is None


ECHOED_SETTINGS: dict[str, dict[str, object]] = {
    "tool_choice required": {"tool_choice": "required"},
    "tool_choice none": {"tool_choice": "none"},
    "tool_choice function": {"tool_choice": {"type": "function", "name": "get_weather"}},
    "tool_choice allowed_tools": {
        "tool_choice": {
            "type": "allowed_tools",
            "mode": "required",
            "tools": [{"type": "function", "name": "get_weather"}],
        }
    },
    "json_object": {"text": {"format": {"type": "json_object"}, "verbosity": "low"}},
    "json_schema": {
        "text": {
            "format": {
                "type": "json_schema",
                "name": "weather",
                "schema": {"type": "object", "properties": {"c": {"type": "number"}}},
                "description": "The weather.",
            }
        }
    },
    "reasoning": {"reasoning": {"effort": "high", "summary": "auto"}},
    "sampling": {"temperature": 0.3, "top_p": 0.8, "presence_penalty": 0.5, "frequency_penalty": 0.25},
    "options": {
        "service_tier": "flex",
        "truncation": "auto",
        "top_logprobs": 3,
        "include": ["message.output_text.logprobs"],
        "store": False,
        "parallel_tool_calls": False,
        "max_tool_calls": 3,
        "safety_identifier": "user-1",
        "prompt_cache_key": "weather",
        "prompt_cache_retention": "24h",
        "user": "u",
        "previous_response_id": None,
    },
}


def _echoed(settings: dict[str, object]) -> dict[str, object]:
    vreq = validate(CODEC.decode({**REQUEST, **settings}, CreateRequest), stream=False)
    return _encode(initial_response(vreq, "resp_0001", CREATED_AT))


def _for_open_responses(body: dict[str, object]) -> dict[str, object]:
    """openresponses-types 2.4.0 generates `JsonSchemaResponseFormat.schema` as type `None` (the
    spec's free-form value lost in generation), so only that one value is blanked for it."""
    text = typing.cast(dict[str, object], body["text"])
    fmt = typing.cast(dict[str, object], text["format"])
    if fmt["type"] != "json_schema":
        return body
    return {**body, "text": {**text, "format": {**fmt, "schema": None}}}


@pytest.mark.parametrize("settings", ECHOED_SETTINGS.values(), ids=ECHOED_SETTINGS.keys())
def test_echoed_settings_pass_the_openai_sdk(settings: dict[str, object]) -> None:
    check_sdk(SdkResponse, _echoed(settings))


@pytest.mark.parametrize("settings", ECHOED_SETTINGS.values(), ids=ECHOED_SETTINGS.keys())
def test_echoed_settings_pass_open_responses(settings: dict[str, object]) -> None:
    ortypes.ResponseResource.model_validate(_for_open_responses(_echoed(settings)))


# ---- the events -------------------------------------------------------------------------------


def test_the_stream_has_every_kind_of_event() -> None:
    assert {e["type"] for e in EVENTS} == {
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.output_text.delta",
        "response.output_text.done",
        "response.refusal.delta",
        "response.refusal.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.completed",
        "response.incomplete",
        "error",
        "response.failed",
    }
    item_types = {typing.cast(dict[str, object], e["item"])["type"] for e in EVENTS if "item" in e}
    assert item_types == {"message", "function_call", "reasoning"}
    part_types = {typing.cast(dict[str, object], e["part"])["type"] for e in EVENTS if "part" in e}
    assert part_types == {"output_text", "refusal", "reasoning_text"}


def test_sequence_numbers_rise_by_one_from_zero() -> None:
    assert [e["sequence_number"] for e in EVENTS] == list(range(len(EVENTS)))


@pytest.mark.parametrize("body", EVENTS, ids=EVENT_IDS)
def test_event_passes_the_openai_sdk(body: dict[str, object]) -> None:
    check_sdk(SDK_EVENTS[str(body["type"])], body)


@pytest.mark.parametrize("body", EVENTS, ids=EVENT_IDS)
def test_event_passes_open_responses(body: dict[str, object]) -> None:
    check_open_responses(body)


@pytest.mark.parametrize("body", EVENTS, ids=EVENT_IDS)
def test_event_frames_as_one_sse_frame(body: dict[str, object]) -> None:
    raw = frame(body)

    head, data = raw.removesuffix(b"\n\n").split(b"\n")
    assert head == b"event: " + str(body["type"]).encode()
    assert json.loads(data.removeprefix(b"data: ")) == body


# ---- stored input items, as GET /v1/responses/{id}/input_items lists them ----------------------

STORED_INPUTS: dict[str, dict[str, object]] = {
    "user text": {"role": "user", "content": "What's the weather?"},
    "user parts": {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "Look:"},
            {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "low"},
            {"type": "input_file", "file_url": "https://x.test/a.pdf"},
        ],
    },
    "image without detail": {
        "role": "user",
        "content": [{"type": "input_image", "image_url": "https://x.test/a.png"}],
    },
    "system": {"role": "system", "content": "You are terse."},
    "developer": {"role": "developer", "content": [{"type": "input_text", "text": "Use metric units."}]},
    "assistant parts": {
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Earlier answer.", "annotations": []}],
    },
    "assistant text": {"role": "assistant", "content": "Earlier answer."},
    "function call": {
        "type": "function_call",
        "call_id": "call_new",
        "name": "get_weather",
        "arguments": "{}",
    },
    "function call output": {"type": "function_call_output", "call_id": "call_old", "output": "18C"},
    "function call output parts": {
        "type": "function_call_output",
        "call_id": "call_old",
        "output": [{"type": "input_text", "text": "18C"}],
    },
    "reasoning": {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Thinking."}]},
}


@pytest.mark.parametrize("item", STORED_INPUTS.values(), ids=STORED_INPUTS.keys())
async def test_stored_input_item_passes_the_openai_sdk(item: dict[str, object]) -> None:
    store = InMemoryStore()
    earlier = Response(
        id="resp_0",
        object="response",
        status="completed",
        output=[
            OutputItem(
                function_call=FunctionToolCall(
                    id="fc_0", call_id="call_old", name="get_weather", arguments="{}", status="completed"
                )
            )
        ],
    )
    await store.save(earlier, [])
    body = {"model": "gpt-4.1", "previous_response_id": "resp_0", "input": [item]}
    vreq = validate(CODEC.decode(body, CreateRequest), stream=False)
    ctx = await assemble(vreq, store, SequentialIds())
    listed = ListInputItemsResponse(
        object="list", data=ctx.new_items, first_id="x", last_id="x", has_more=False
    )

    check_sdk(SdkItemList, _encode(listed))
