"""The exactness gate: every body and SSE event the REST surface sends is checked against the
`openai` SDK's own pydantic types and the Open Responses models, and SSE frames against the format.

`CapturingTransport` tees every response the SDK (or httpx) receives; `check(capture)` validates it.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openresponses_types.types as ortypes
import pydantic
from openai.types.responses import (
    CompactedResponse,
    Response,
    ResponseCompactionItem,
    ResponseInputMessageItem,
    ResponseItemList,
    ResponseStreamEvent,
)
from openai.types.responses.input_token_count_response import InputTokenCountResponse

# Keys Open Responses requires that OpenAI's SDK types do not (yet) declare: penalties and `store` on
# the response, the nested `error` of the error event, `name` on function_call_arguments.done, and
# `bytes` on the logprobs of delta events.
OR_ONLY_KEYS = {"presence_penalty", "frequency_penalty", "store", "error"}
OR_ONLY_EVENT_KEYS = OR_ONLY_KEYS | {"name", "bytes"}
FRAME = re.compile(rb"event: ([a-z_.]+)\ndata: (\{.*\})\n\n", re.DOTALL)
RESPONSE_PATH = re.compile(r"^/v1/responses(/[^/]+)?$")
ITEMS_PATH = re.compile(r"^/v1/responses/[^/]+/input_items$")
INPUT_TOKENS_PATH = "/v1/responses/input_tokens"
COMPACT_PATH = "/v1/responses/compact"


def _sdk_event_models() -> dict[str, type[pydantic.BaseModel]]:
    """The SDK's event union by `type` (its discriminator is the SDK's own annotation, which pydantic
    does not see, so validating against the bare union could match the wrong member)."""
    union = typing.get_args(ResponseStreamEvent)[0]
    models: dict[str, type[pydantic.BaseModel]] = {}
    for member in typing.get_args(union):
        for literal in typing.get_args(member.model_fields["type"].annotation):
            models[literal] = member
    return models


SDK_EVENTS = _sdk_event_models()


def _or_event_models() -> dict[str, type[pydantic.BaseModel]]:
    models: dict[str, type[pydantic.BaseModel]] = {}
    for _name, cls in inspect.getmembers(ortypes, inspect.isclass):
        if not (issubclass(cls, pydantic.BaseModel) and cls.__name__.endswith("StreamingEvent")):
            continue
        field_info = cls.model_fields.get("type")
        if field_info is None:
            continue
        annotation = field_info.annotation
        for arg in typing.get_args(annotation) or (annotation,):
            if isinstance(arg, type) and issubclass(arg, enum.Enum):
                models.update({str(member.value): cls for member in arg})
            elif isinstance(arg, str):
                models[arg] = cls
    return models


OR_EVENTS = _or_event_models()


@dataclass
class Capture:
    """One HTTP exchange as the client saw it."""

    method: str
    path: str
    status: int
    content_type: str
    chunks: list[bytes] = field(default_factory=list)
    starting_after: int | None = None  # GET ?stream=true&starting_after=N
    read_to_end: bool = False  # False when the client closed the body before its end

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class _Tee(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, capture: Capture) -> None:
        self._inner = inner
        self._capture = capture

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._capture.chunks.append(chunk)
            yield chunk
        self._capture.read_to_end = True

    def close(self) -> None:
        self._inner.close()


class CapturingTransport(httpx.HTTPTransport):
    """An httpx transport that records every response it delivers."""

    def __init__(self) -> None:
        super().__init__()
        self.captures: list[Capture] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        capture = Capture(
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
        )
        if "starting_after" in request.url.params:
            capture.starting_after = int(request.url.params["starting_after"])
        self.captures.append(capture)
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _Tee(response.stream, capture)
        return response


def _no_unknown_keys(model: pydantic.BaseModel, where: str, allowed: set[str]) -> None:
    """Every key we send is one the SDK type declares (or one Open Responses requires)."""
    extra = set((model.model_extra or {}).keys()) - allowed
    assert not extra, f"{where}: keys unknown to the openai SDK type {type(model).__name__}: {sorted(extra)}"
    for name in type(model).model_fields:
        value = model.__dict__.get(name)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, pydantic.BaseModel):
                _no_unknown_keys(v, f"{where}.{name}", allowed)


OR_TOOL_TYPES = {"function"}
OR_ITEM_TYPES = {"message", "function_call", "function_call_output", "reasoning", "compaction"}
OR_CHOICE_TYPES = {"function", "allowed_tools"}
OR_ANNOTATION_TYPES = {"url_citation"}
"""The annotations Open Responses' `response.output_text.annotation.added` event defines."""


def _or_annotations(value: Any) -> Any:
    """`value` without the annotations Open Responses does not define (OpenAI's `file_citation`), for its
    models only: the openai SDK's types check them in full."""
    if isinstance(value, list):
        return [_or_annotations(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _or_annotations(v) for k, v in value.items()}
    annotations = out.get("annotations")
    if isinstance(annotations, list):
        out["annotations"] = [
            a for a in annotations if isinstance(a, dict) and a.get("type") in OR_ANNOTATION_TYPES
        ]
    return out


def _for_open_responses(data: dict[str, object]) -> dict[str, object]:
    """The part of a response the Open Responses models define.

    Open Responses defines only function tools and five item types; OpenAI-only tools and items
    (MCP) are left to the openai SDK's types, which check them in full. And openresponses-types
    2.4.0 generates `JsonSchemaResponseFormat.schema` as `None` (the spec's unconstrained value lost
    in generation), so that one echoed value is blanked. Everything else is checked as sent."""
    out = dict(data)
    tools = data.get("tools")
    if isinstance(tools, list):
        out["tools"] = [t for t in tools if isinstance(t, dict) and t.get("type") in OR_TOOL_TYPES]
    choice = data.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") not in OR_CHOICE_TYPES:
        out["tool_choice"] = "auto"  # an OpenAI-only choice (file_search): the SDK's type checks it
    output = data.get("output")
    if isinstance(output, list):
        out["output"] = [o for o in output if isinstance(o, dict) and o.get("type") in OR_ITEM_TYPES]
    text = data.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(text, dict) and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out["text"] = {**text, "format": {**fmt, "schema": None}}
    return out


def check_response(data: dict[str, object], where: str = "response") -> Response:
    """A Response body passes both schemas."""
    ortypes.ResponseResource.model_validate(_or_annotations(_for_open_responses(data)))
    parsed = Response.model_validate(data)
    _no_unknown_keys(parsed, where, OR_ONLY_KEYS)
    assert isinstance(data["created_at"], int)
    return parsed


def check_event(data: dict[str, object]) -> None:
    """One streamed event passes both schemas (Open Responses where it defines the type)."""
    parsed = SDK_EVENTS[str(data["type"])].model_validate(data)
    _no_unknown_keys(parsed, str(data["type"]), OR_ONLY_EVENT_KEYS)
    or_model = OR_EVENTS.get(str(data["type"]))
    item = data.get("item")
    if isinstance(item, dict) and item.get("type") not in OR_ITEM_TYPES:
        or_model = None  # an OpenAI-only item (MCP): the SDK's type checked it above
    annotation = data.get("annotation")
    if isinstance(annotation, dict) and annotation.get("type") not in OR_ANNOTATION_TYPES:
        or_model = None  # an OpenAI-only annotation (file_citation): the SDK's type checked it above
    data = _or_annotations(data)
    if or_model is not None:
        response = data.get("response")
        if isinstance(response, dict):
            data = {**data, "response": _for_open_responses(response)}
        or_model.model_validate(data)


def check_sse(body: bytes, *, first: int = 0, cut_by_client: bool = False) -> list[dict[str, object]]:
    """Frames are exactly `event: <type>\\ndata: <json>\\n\\n`, `sequence_number` starts at `first` and
    rises by one, and the stream ends with `data: [DONE]` (unless the client stopped reading: at an
    `error` event, as the openai SDK does since it raises there, or by closing the stream early)."""
    done = b"data: [DONE]\n\n"
    complete = body.endswith(done)
    rest = body[: -len(done)] if complete else body
    if cut_by_client and not complete:
        rest = rest[: rest.rfind(b"\n\n") + 2]  # the last frame may be cut
    events: list[dict[str, object]] = []
    for raw in rest.split(b"\n\n"):
        if not raw or raw.startswith(b":"):
            continue
        match = FRAME.fullmatch(raw + b"\n\n")
        assert match is not None, f"bad SSE frame: {raw[:200]!r}"
        assert b"\n" not in match.group(2), "data must be one line of JSON"
        data = json.loads(match.group(2))
        assert data["type"] == match.group(1).decode(), "event: must equal the body's type"
        check_event(data)
        events.append(data)
    stopped_at_error = any(e["type"] == "error" for e in events)  # the SDK raises there and stops reading
    assert complete or stopped_at_error or cut_by_client, body[-200:]
    assert [e["sequence_number"] for e in events] == list(range(first, first + len(events)))
    return events


def check_error(data: dict[str, object]) -> None:
    """OpenAI's error shape, exactly."""
    assert set(data) == {"error"}, data
    error = data["error"]
    assert isinstance(error, dict)
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]


def check_compacted(data: dict[str, Any]) -> None:
    """OpenAI's CompactedResponse, no key more. Its `output` is typed as output items, but holds the
    user messages (with their input parts) and then one compaction item: each is checked as what it is."""
    assert set(data) == {"id", "object", "created_at", "output", "usage"}, data
    CompactedResponse.model_validate({**data, "output": []})
    *messages, compaction = data["output"]
    for message in messages:
        assert ResponseInputMessageItem.model_validate(message).role == "user"
    ResponseCompactionItem.model_validate(compaction)


def check(capture: Capture) -> None:
    """Validate whatever the capture holds, by route and status."""
    if "text/event-stream" in capture.content_type:
        after = capture.starting_after
        check_sse(
            capture.body, first=0 if after is None else after + 1, cut_by_client=not capture.read_to_end
        )
        return
    if "application/json" not in capture.content_type or not capture.body:
        return
    data = json.loads(capture.body)
    if capture.status >= 400:
        check_error(data)
    elif ITEMS_PATH.match(capture.path):
        ResponseItemList.model_validate(data)
    elif capture.path == INPUT_TOKENS_PATH:  # OpenAI's shape; our `estimated` is one key more
        InputTokenCountResponse.model_validate(data)
        assert set(data) == {"object", "input_tokens", "estimated"}, data
    elif capture.path == COMPACT_PATH:
        check_compacted(data)
    elif RESPONSE_PATH.match(capture.path) and capture.method in ("GET", "POST"):
        check_response(data)
