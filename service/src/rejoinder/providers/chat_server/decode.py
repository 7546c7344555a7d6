"""The chat completions wire format, server side, request half: a request body in, a `ChatRequest` out.

The inverse of `chat_wire.build_body`/`encode_steps`: every key the encoder writes is read back into the
field it came from, so `ChatRequest -> encode -> decode` gives the same `ChatRequest`. `max_tokens` and
`max_completion_tokens` both set `max_output_tokens`; an assistant's reasoning is read from
`reasoning_content` or `reasoning` (the encoder writes the client's `reasoning_field`). A key set to null
is unset, as OpenAI reads it; keys this module does not know are ignored. A known key of the wrong type or
value is a 400 (`ApiError`) naming it, in OpenAI's words (a wrong type in the words of the Responses
codec, `wire/json_values.type_error`). Pure; no I/O. Messages are decoded in steps (`rejoinder.pacing`):
a request of 10,000 messages must not hold the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from rejoinder.errors import ApiError, invalid
from rejoinder.pacing import Steps
from rejoinder.providers.base import (
    ChatMessage,
    ChatRequest,
    ContentPart,
    FunctionTool,
    ImagePart,
    NamedToolChoice,
    Role,
    TextPart,
    ToolCall,
    ToolChoice,
)
from rejoinder.wire.json_values import type_error

_ROLES: Mapping[str, Role] = {
    "system": "system",
    "developer": "developer",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}
_TOOL_CHOICE_MODES: Mapping[str, Literal["auto", "none", "required"]] = {
    "auto": "auto",
    "none": "none",
    "required": "required",
}
REASONING_KEYS = ("reasoning_content", "reasoning")


@dataclass(frozen=True)
class IncomingChat:
    """A decoded request, and whether a stream should end with a usage chunk (`stream_options`)."""

    request: ChatRequest
    include_usage: bool


def _wrong_value(param: str, value: object, expected: str) -> ApiError:
    shown = str(value)[:64]
    return invalid(
        f"Invalid value: '{shown}'. Supported values are: {expected}.", param=param, code="invalid_value"
    )


def _object(value: object, param: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise type_error(param, "an object", value)
    return value


class _Reader:
    """Typed reads of one JSON object's keys; errors name `where.key`. A null is an absent key."""

    def __init__(self, obj: Mapping[str, object], where: str) -> None:
        self._obj = obj
        self._where = where

    def param(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def raw(self, key: str) -> object:
        return self._obj.get(key)

    def required(self, key: str) -> object:
        value = self._obj.get(key)
        if value is None:
            param = self.param(key)
            raise invalid(
                f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
            )
        return value

    def text(self, key: str) -> str | None:
        value = self._obj.get(key)
        if value is None or isinstance(value, str):
            return value
        raise type_error(self.param(key), "a string", value)

    def required_text(self, key: str) -> str:
        value = self.required(key)
        if not isinstance(value, str):
            raise type_error(self.param(key), "a string", value)
        return value

    def number(self, key: str) -> float | None:
        value = self._obj.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise type_error(self.param(key), "a number", value)

    def whole(self, key: str) -> int | None:
        value = self._obj.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise type_error(self.param(key), "an integer", value)

    def flag(self, key: str) -> bool | None:
        value = self._obj.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise type_error(self.param(key), "a boolean", value)

    def mapping(self, key: str) -> Mapping[str, object] | None:
        value = self._obj.get(key)
        return None if value is None else _object(value, self.param(key))

    def array(self, key: str) -> list[object]:
        value = self._obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise type_error(self.param(key), "an array", value)
        return value


def decode_steps(body: Mapping[str, object]) -> Steps[IncomingChat]:
    """The request in `body` (a parsed JSON object), one message per step. Raises `ApiError` (400)."""
    top = _Reader(body, "")
    raw_messages = top.required("messages")
    if not isinstance(raw_messages, list):
        raise type_error("messages", "an array", raw_messages)
    messages: list[ChatMessage] = []
    for index, raw in enumerate(raw_messages):
        messages.append(_message(raw, f"messages[{index}]"))
        yield
    logprobs = top.flag("logprobs") or False
    stream = top.flag("stream") or False
    request = ChatRequest(
        model=top.required_text("model"),
        messages=tuple(messages),
        stream=stream,
        temperature=top.number("temperature"),
        top_p=top.number("top_p"),
        presence_penalty=top.number("presence_penalty"),
        frequency_penalty=top.number("frequency_penalty"),
        max_output_tokens=_max_tokens(top),
        tools=tuple(_tool(raw, f"tools[{i}]") for i, raw in enumerate(top.array("tools"))),
        tool_choice=_tool_choice(top.raw("tool_choice")),
        parallel_tool_calls=top.flag("parallel_tool_calls"),
        response_format=_plain_mapping(top.mapping("response_format")),
        logprobs=logprobs,
        top_logprobs=top.whole("top_logprobs"),
        reasoning_effort=top.text("reasoning_effort"),
        user=top.text("user"),
        safety_identifier=top.text("safety_identifier"),
        prompt_cache_key=top.text("prompt_cache_key"),
        service_tier=top.text("service_tier"),
        metadata=_metadata(top.mapping("metadata")),
    )
    return IncomingChat(request, include_usage=stream and _include_usage(top))


def _max_tokens(top: _Reader) -> int | None:
    newer = top.whole("max_completion_tokens")
    return newer if newer is not None else top.whole("max_tokens")


def _include_usage(top: _Reader) -> bool:
    options = top.mapping("stream_options")
    return options is not None and bool(_Reader(options, "stream_options").flag("include_usage"))


def _plain_mapping(value: Mapping[str, object] | None) -> Mapping[str, object] | None:
    return None if value is None else dict(value)


def _metadata(value: Mapping[str, object] | None) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for key, item in (value or {}).items():
        if not isinstance(item, str):
            raise type_error(f"metadata.{key}", "a string", item)
        out[key] = item
    return out


def _message(raw: object, where: str) -> ChatMessage:
    fields = _Reader(_object(raw, where), where)
    role_name = fields.required_text("role")
    role = _ROLES.get(role_name)
    if role is None:
        raise _wrong_value(fields.param("role"), role_name, ", ".join(_ROLES))
    calls = fields.array("tool_calls")
    reasoning = None
    if role == "assistant":
        reasoning = next((text for key in REASONING_KEYS if (text := fields.text(key)) is not None), None)
    return ChatMessage(
        role=role,
        content=_content(fields.raw("content"), fields.param("content")),
        tool_calls=tuple(_tool_call(call, fields.param(f"tool_calls[{i}]")) for i, call in enumerate(calls)),
        tool_call_id=fields.text("tool_call_id"),
        reasoning=reasoning,
    )


def _content(value: object, where: str) -> str | tuple[ContentPart, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise type_error(where, "one of a string or array of objects", value)
    return tuple(_part(raw, f"{where}[{i}]") for i, raw in enumerate(value))


def _part(raw: object, where: str) -> ContentPart:
    fields = _Reader(_object(raw, where), where)
    kind = fields.required_text("type")
    if kind == "text":
        return TextPart(fields.required_text("text"))
    if kind == "image_url":
        image = _Reader(
            _object(fields.required("image_url"), fields.param("image_url")), fields.param("image_url")
        )
        return ImagePart(image.required_text("url"), image.text("detail"))
    raise _wrong_value(fields.param("type"), kind, "text, image_url")


def _tool_call(raw: object, where: str) -> ToolCall:
    fields = _Reader(_object(raw, where), where)
    _expect_function(fields)
    function = _Reader(
        _object(fields.required("function"), fields.param("function")), fields.param("function")
    )
    return ToolCall(
        fields.required_text("id"), function.required_text("name"), function.required_text("arguments")
    )


def _expect_function(fields: _Reader) -> None:
    kind = fields.text("type")
    if kind is not None and kind != "function":
        raise _wrong_value(fields.param("type"), kind, "function")


def _tool(raw: object, where: str) -> FunctionTool:
    fields = _Reader(_object(raw, where), where)
    if fields.required_text("type") != "function":
        raise _wrong_value(fields.param("type"), fields.raw("type"), "function")
    function = _Reader(
        _object(fields.required("function"), fields.param("function")), fields.param("function")
    )
    return FunctionTool(
        name=function.required_text("name"),
        description=function.text("description"),
        parameters=_plain_mapping(function.mapping("parameters")),
        strict=function.flag("strict"),
    )


def _tool_choice(value: object) -> ToolChoice | None:
    if value is None:
        return None
    if isinstance(value, str):
        mode = _TOOL_CHOICE_MODES.get(value)
        if mode is None:
            raise _wrong_value("tool_choice", value, "none, auto, required")
        return mode
    fields = _Reader(_object(value, "tool_choice"), "tool_choice")
    if fields.required_text("type") != "function":
        raise _wrong_value("tool_choice.type", fields.raw("type"), "function")
    function = _Reader(_object(fields.required("function"), "tool_choice.function"), "tool_choice.function")
    return NamedToolChoice(function.required_text("name"))
