"""What the local model must output, as a JSON schema, and how its output becomes `ChatDelta`s. Pure.

A 135M model left to itself does not emit parseable tool calls, so tool use goes through constrained
decoding: `plan_output` picks a JSON schema the sampler's grammar enforces, plus a system-prompt hint
that tells the model what the JSON means.

- no tools (or `tool_choice: "none"`): free text, or the `text.format` schema (json_schema/json_object);
- `"auto"`: the *envelope* `{"type": "message", "content": ...}` or `{"type": "tool_call", "name": <an
  offered tool>, "arguments": <that tool's parameters>}` (one `anyOf` branch per tool); but right after a
  tool's result, the answer as with no tools (a 135M model offered the tools again calls them again and
  again: a file_search ran until the context was full);
- `"required"`: the envelope without the message branch;
- a named tool: that tool's parameters schema itself.

`OutputShaper` turns the generated text into deltas: free text streams as it comes, the envelope's
string `content` streams as soon as its JSON string is being written, and a tool call is emitted once
it is complete (arguments re-serialized as a compact JSON string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from rejoinder.providers.base import (
    ChatDelta,
    ChatMessage,
    ChatRequest,
    ContentPart,
    FinishDelta,
    FunctionTool,
    ImagePart,
    NamedToolChoice,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    UpstreamError,
)

Mode = Literal["text", "envelope", "arguments"]
TemplateRole = Literal["system", "user", "assistant"]
Schema = Mapping[str, object]

_ANY_OBJECT: Schema = {"type": "object"}
_STRING: Schema = {"type": "string"}
_MESSAGE_START = re.compile(r'\A\s*\{\s*"type"\s*:\s*"message"\s*,\s*"content"\s*:\s*"')
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class OutputPlan:
    """The output a request asks for: free text, the envelope, or the forced tool's arguments."""

    mode: Mode
    schema: Schema | None = None
    hint: str | None = None
    forced_tool: str | None = None
    json_content: bool = False


def plan_output(req: ChatRequest) -> OutputPlan:
    """The output plan of `req`. Raises `UpstreamError` (400) for a forced tool that is not offered."""
    text_schema = _text_format_schema(req.response_format)
    choice = req.tool_choice or "auto"
    if choice == "auto" and req.messages and req.messages[-1].role == "tool":
        choice = "none"  # a tool's result just came: answer from it (a 135M model calls again and again)
    if not req.tools or choice == "none":
        hint = _text_format_hint(text_schema) if text_schema is not None else None
        return OutputPlan("text", text_schema, hint)
    listing = _tool_listing(req.tools)
    if isinstance(choice, NamedToolChoice):
        tool = next((t for t in req.tools if t.name == choice.name), None)
        if tool is None:
            raise UpstreamError(
                "status", f"tool_choice names {choice.name!r}, which is not offered", status=400
            )
        hint = f"{listing}\nCall the tool {tool.name}: reply with its arguments as one JSON object."
        return OutputPlan("arguments", _parameters(tool), hint, forced_tool=tool.name)
    branches = [_call_branch(t) for t in req.tools]
    if choice == "required":
        hint = f"{listing}\nReply with one JSON object that calls one of the tools: {_CALL_SHAPE}"
        return OutputPlan("envelope", {"anyOf": branches}, hint)
    content = text_schema if text_schema is not None else _STRING
    message = _object({"type": {"const": "message"}, "content": content})
    hint = f"{listing}\n{_AUTO_RULES}"
    return OutputPlan("envelope", {"anyOf": [message, *branches]}, hint, json_content=text_schema is not None)


_CALL_SHAPE = '{"type": "tool_call", "name": "<tool name>", "arguments": {<the tool\'s arguments>}}'
_AUTO_RULES = (
    "Reply with one JSON object.\n"
    f"If the user asks for something one of the tools provides, call it: {_CALL_SHAPE}\n"
    'Otherwise answer yourself: {"type": "message", "content": "<your answer>"}\n'
    'Example: "Hi!" -> {"type": "message", "content": "Hello! How can I help you?"}\n'
    'Example: "What is 2+2?" -> {"type": "message", "content": "4"}'
)


def _object(properties: Mapping[str, object]) -> Schema:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }


def _parameters(tool: FunctionTool) -> Schema:
    return tool.parameters if tool.parameters else _ANY_OBJECT


def _call_branch(tool: FunctionTool) -> Schema:
    return _object(
        {"type": {"const": "tool_call"}, "name": {"const": tool.name}, "arguments": _parameters(tool)}
    )


def _tool_listing(tools: tuple[FunctionTool, ...]) -> str:
    lines = ["You can call these tools:"]
    for tool in tools:
        about = f": {tool.description}" if tool.description else ""
        lines.append(f"- {tool.name}{about}. Arguments (JSON schema): {json.dumps(_parameters(tool))}")
    return "\n".join(lines)


def _text_format_schema(response_format: Mapping[str, object] | None) -> Schema | None:
    """The schema of a chat `response_format` (json_schema or json_object), or None for plain text."""
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind == "json_object":
        return _ANY_OBJECT
    if kind != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return {str(k): v for k, v in schema.items()} if isinstance(schema, Mapping) else _ANY_OBJECT


def _text_format_hint(schema: Schema) -> str:
    if schema is _ANY_OBJECT:
        return "Reply with one JSON object only."
    return f"Reply with JSON only, matching this JSON schema: {json.dumps(schema)}"


@dataclass(frozen=True)
class TemplateMessage:
    """One turn as any chat template takes it: one of three roles and plain text."""

    role: TemplateRole
    content: str


def template_messages(req: ChatRequest, plan: OutputPlan) -> list[TemplateMessage]:
    """`req.messages` as plain role/content pairs any chat template takes, with the plan's hint in the
    system message. Tool calls are written in the envelope's JSON; tool results become user turns."""
    names = {c.id: c.name for m in req.messages for c in m.tool_calls}
    out = [_template_message(m, names) for m in req.messages]
    if plan.hint:
        if out and out[0].role == "system":
            out[0] = TemplateMessage("system", f"{out[0].content}\n\n{plan.hint}")
        else:
            out.insert(0, TemplateMessage("system", plan.hint))
    return out


def _template_message(msg: ChatMessage, names: Mapping[str, str]) -> TemplateMessage:
    text = _text(msg.content)
    if msg.role in ("system", "developer"):
        return TemplateMessage("system", text)
    if msg.role == "tool":
        name = names.get(msg.tool_call_id or "", "a tool")
        return TemplateMessage("user", f"Result of the call to {name}: {text}")
    if msg.role == "assistant":
        calls = [_envelope_call(c) for c in msg.tool_calls]
        return TemplateMessage("assistant", "\n".join([text, *calls] if text else calls))
    return TemplateMessage("user", text)


def _envelope_call(call: ToolCall) -> str:
    try:
        arguments: object = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        arguments = call.arguments
    return json.dumps({"type": "tool_call", "name": call.name, "arguments": arguments}, ensure_ascii=False)


def _text(content: str | tuple[ContentPart, ...] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if any(isinstance(part, ImagePart) for part in content):
        raise UpstreamError("status", "the local model does not accept images", status=400)
    return "".join(part.text for part in content if isinstance(part, TextPart))


class OutputShaper:
    """Generated text in, `ChatDelta`s out, for one generation under `plan`."""

    def __init__(self, plan: OutputPlan, new_call_id: Callable[[], str]) -> None:
        self._plan = plan
        self._new_call_id = new_call_id
        self._raw: list[str] = []
        self._streamed = 0

    def feed(self, text: str) -> list[ChatDelta]:
        """Take the next piece of generated text; return what can be emitted now."""
        if not text:
            return []
        if self._plan.mode == "text":
            return [TextDelta(text)]
        self._raw.append(text)
        if self._plan.mode == "arguments" or self._plan.json_content:
            return []
        return self._stream_content()

    def finish(self, reason: Literal["stop", "length"]) -> list[ChatDelta]:
        """The closing deltas: a complete tool call, the rest of a message, and the `FinishDelta`."""
        if self._plan.mode == "text" or reason == "length":
            return [FinishDelta(reason)]
        value = _loads("".join(self._raw))
        if self._plan.mode == "arguments":
            return [self._call(self._plan.forced_tool or "", value), FinishDelta("tool_calls")]
        if not isinstance(value, dict):
            raise UpstreamError("protocol", "local model output is not a JSON object")
        if value.get("type") == "tool_call":
            return [self._call(str(value.get("name")), value.get("arguments")), FinishDelta("tool_calls")]
        content = value.get("content")
        text = content if isinstance(content, str) else _dumps(content)
        rest = text[self._streamed :]
        return [TextDelta(rest), FinishDelta("stop")] if rest else [FinishDelta("stop")]

    def _call(self, name: str, arguments: object) -> ToolCallDelta:
        return ToolCallDelta(index=0, id=self._new_call_id(), name=name, arguments=_dumps(arguments))

    def _stream_content(self) -> list[ChatDelta]:
        decoded = partial_message_content("".join(self._raw))
        if decoded is None or len(decoded) <= self._streamed:
            return []
        delta = decoded[self._streamed :]
        self._streamed = len(decoded)
        return [TextDelta(delta)]


def partial_message_content(raw: str) -> str | None:
    """The decoded part of the envelope's string `content` written so far, or None if not a message."""
    start = _MESSAGE_START.match(raw)
    if start is None:
        return None
    body = raw[start.end() :]
    return _loads_str(body[: _safe_string_prefix(body)])


def _safe_string_prefix(body: str) -> int:
    """How much of a JSON string body (after its opening quote) decodes on its own: up to the closing
    quote, or up to any escape sequence still being written (a lone high surrogate counts as one)."""
    i = 0
    while i < len(body):
        char = body[i]
        if char == '"':
            return i
        if char != "\\":
            i += 1
            continue
        end = _escape_end(body, i)
        if end is None:
            return i
        i = end
    return i


def _escape_end(body: str, i: int) -> int | None:
    """The end of the escape sequence at `body[i]`, or None when it is not complete yet."""
    if i + 1 >= len(body):
        return None
    if body[i + 1] != "u":
        return i + 2
    code = body[i + 2 : i + 6]
    if len(code) < 4 or not set(code) <= _HEX:
        return None
    if 0xD800 <= int(code, 16) <= 0xDBFF:  # a high surrogate needs its low half to decode
        low = body[i + 6 : i + 12]
        return i + 12 if len(low) == 6 and low[:2] == "\\u" and set(low[2:]) <= _HEX else None
    return i + 6


def _loads_str(body: str) -> str:
    value = _loads(f'"{body}"')
    if not isinstance(value, str):
        raise UpstreamError("protocol", "local model wrote a malformed JSON string")
    return value


def _loads(text: str) -> object:
    try:
        value: object = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise UpstreamError("protocol", f"local model output is not valid JSON: {exc}") from exc
    return value


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
