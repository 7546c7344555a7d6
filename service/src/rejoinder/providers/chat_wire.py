"""The chat completions wire format: request bodies out, normalized deltas in. Pure; no I/O.

`build_body` turns a `ChatRequest` into the JSON object an OpenAI-compatible upstream accepts, omitting
every unset key. `StreamDecoder` folds `chat.completion.chunk` objects into `ChatDelta`s and
`decode_completion` does the same for one `chat.completion` body. Both absorb the usual upstream quirks:
reasoning in `reasoning_content` or `reasoning`, tool-call chunking, usage placement, odd finish reasons.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import uuid4

import orjson

from rejoinder.pacing import Steps
from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    ChatMessage,
    ChatRequest,
    FinishDelta,
    FinishReason,
    FunctionTool,
    ImagePart,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    TextPart,
    TokenLogprob,
    ToolCallDelta,
    ToolChoice,
    TopLogprob,
    UpstreamError,
    UsageDelta,
)

JsonObject = dict[str, object]

_FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
}

# -- request ------------------------------------------------------------------------------------------


def build_body(req: ChatRequest, caps: Capabilities) -> JsonObject:
    """The chat completions request body for `req`, without `stream`; unset keys are omitted. Its
    `messages` are left empty: `encode_steps` writes them into the bytes, one step at a time."""
    body: JsonObject = {
        "model": req.model,
        "messages": [],
        "temperature": req.temperature,
        "top_p": req.top_p,
        "presence_penalty": req.presence_penalty,
        "frequency_penalty": req.frequency_penalty,
        "max_tokens": req.max_output_tokens,
        "tools": [_tool(t) for t in req.tools] or None,
        "tool_choice": _tool_choice(req.tool_choice),
        "parallel_tool_calls": req.parallel_tool_calls,
        "response_format": _plain(req.response_format),
        "logprobs": True if req.logprobs else None,
        "top_logprobs": req.top_logprobs if req.logprobs else None,
        "reasoning_effort": req.reasoning_effort if caps.reasoning_effort else None,
        "user": req.user,
        "safety_identifier": req.safety_identifier,
        "prompt_cache_key": req.prompt_cache_key,
        "prompt_cache_retention": req.prompt_cache_retention,
        "service_tier": req.service_tier,
    }
    return _without_none(body)


MESSAGES_SLOT = b'"messages":[]'
PIECE_BYTES = 256 * 1024


def _messages_json_steps(messages: Sequence[ChatMessage], caps: Capabilities) -> Steps[list[bytes]]:
    """The JSON of `messages` and the commas between them, one message per step."""
    pieces: list[bytes] = []
    for msg in messages:
        if pieces:
            pieces.append(b",")
        pieces.append(orjson.dumps(_message(msg, caps)))
        yield
    return pieces


def encode_steps(body: JsonObject, req: ChatRequest, caps: Capabilities) -> Steps[list[bytes]]:
    """The bytes of `body` (`build_body`'s, or an adapter's from it), with `req`'s messages put in, and
    the stream options when it streams, in pieces of about `PIECE_BYTES` (one for a small body) that are
    sent one after the other: a body of 32 MiB is never copied whole again. One message per step (a
    request of 10,000 items must not hold the event loop)."""
    if req.stream:
        body = body | {"stream": True, "stream_options": {"include_usage": True}}
    try:
        head, slot, tail = orjson.dumps(body).partition(MESSAGES_SLOT)
        messages = yield from _messages_json_steps(req.messages, caps)
    except orjson.JSONEncodeError as exc:
        raise UpstreamError("protocol", f"request is not JSON-serializable: {exc}") from exc
    assert slot, "the body has no empty messages array"
    return (yield from _pieces_steps((head, b'"messages":[', *messages, b"]", tail)))


def _pieces_steps(parts: Sequence[bytes]) -> Steps[list[bytes]]:
    """`parts` joined into pieces of about `PIECE_BYTES` (a bigger part is a piece of its own), a piece
    per step."""
    pieces: list[bytes] = []
    group: list[bytes] = []
    size = 0
    for part in parts:
        group.append(part)
        size += len(part)
        if size >= PIECE_BYTES:
            pieces.append(b"".join(group))
            group, size = [], 0
            yield
    if group:
        pieces.append(b"".join(group))
    return pieces


def messages_json(messages: Sequence[ChatMessage], caps: Capabilities) -> list[JsonObject]:
    """The messages as the request body carries them (for a tokenize route that takes chat messages)."""
    return [_message(m, caps) for m in messages]


def _message(msg: ChatMessage, caps: Capabilities) -> JsonObject:
    out: JsonObject = {"role": msg.role, "content": _content(msg.content)}
    if msg.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in msg.tool_calls
        ]
    out["tool_call_id"] = msg.tool_call_id
    if msg.role == "assistant" and caps.accepts_reasoning_input and caps.reasoning_field:
        out[caps.reasoning_field] = msg.reasoning
    return _without_none(out)


def _content(content: str | tuple[TextPart | ImagePart, ...] | None) -> object:
    if content is None or isinstance(content, str):
        return content
    parts: list[JsonObject] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:
            url: JsonObject = _without_none({"url": part.url, "detail": part.detail})
            parts.append({"type": "image_url", "image_url": url})
    return parts


def _tool(tool: FunctionTool) -> JsonObject:
    function = {
        "name": tool.name,
        "description": tool.description,
        "parameters": _plain(tool.parameters),
        "strict": tool.strict,
    }
    return {"type": "function", "function": _without_none(function)}


def _tool_choice(choice: ToolChoice | None) -> object:
    if choice is None or isinstance(choice, str):
        return choice
    return {"type": "function", "function": {"name": choice.name}}


def _plain(value: object) -> object:
    """Deep-copy mappings and sequences into dicts and lists, so any JSON encoder takes them."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _without_none(obj: Mapping[str, object]) -> JsonObject:
    return {k: v for k, v in obj.items() if v is not None}


# -- typed access to untrusted JSON ------------------------------------------------------------------


def _obj(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _bytes(value: object) -> tuple[int, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(b for b in value if isinstance(b, int) and not isinstance(b, bool))


# -- response ----------------------------------------------------------------------------------------


def finish_reason(raw: str) -> FinishReason:
    """Normalize an upstream finish reason; unknown ones (`eos`, `abort`, ...) become `stop`."""
    return _FINISH_REASONS.get(raw, "stop")


def decode_usage(raw: object) -> UsageDelta | None:
    """The usage object of a chunk or body, or None when there is none."""
    if not isinstance(raw, dict):
        return None
    return UsageDelta(
        input_tokens=_int(raw.get("prompt_tokens")),
        output_tokens=_int(raw.get("completion_tokens")),
        cached_tokens=_int(_obj(raw.get("prompt_tokens_details")).get("cached_tokens")),
        reasoning_tokens=_int(_obj(raw.get("completion_tokens_details")).get("reasoning_tokens")),
    )


def decode_logprobs(raw: object) -> tuple[TokenLogprob, ...]:
    """`choices[i].logprobs.content` as `TokenLogprob`s; malformed entries are skipped."""
    out: list[TokenLogprob] = []
    for entry in _list(_obj(raw).get("content")):
        item = _obj(entry)
        token, logprob = _str(item.get("token")), _float(item.get("logprob"))
        if token is None or logprob is None:
            continue
        top = tuple(_top_logprobs(item.get("top_logprobs")))
        out.append(TokenLogprob(token, logprob, _bytes(item.get("bytes")), top))
    return tuple(out)


def _top_logprobs(raw: object) -> list[TopLogprob]:
    out: list[TopLogprob] = []
    for entry in _list(raw):
        item = _obj(entry)
        token, logprob = _str(item.get("token")), _float(item.get("logprob"))
        if token is not None and logprob is not None:
            out.append(TopLogprob(token, logprob, _bytes(item.get("bytes"))))
    return out


def _reasoning_fields(caps: Capabilities) -> tuple[str, ...]:
    fields = (caps.reasoning_field, "reasoning_content", "reasoning")
    return tuple(dict.fromkeys(f for f in fields if f))


def _first_text(obj: Mapping[str, object], fields: tuple[str, ...]) -> str | None:
    for name in fields:
        text = _str(obj.get(name))
        if text:
            return text
    return None


def _arguments(value: object) -> str:
    """Tool-call arguments are a JSON string on the wire; a few upstreams send the object itself."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value if isinstance(value, str) else ""


def _new_call_id() -> str:
    return f"call_{uuid4().hex[:24]}"


class WireError(ValueError):
    """An upstream body that is valid JSON but not a chat completion."""


@dataclass
class StreamDecoder:
    """Folds the chunks of one streamed completion into deltas.

    Usage and the finish reason are held back and released by `close()` (usage first, then exactly one
    `FinishDelta`), because upstreams place usage before, with, or after the finish chunk, and some send it
    in every chunk. Only choice 0 is read.
    """

    caps: Capabilities
    finish: FinishReason | None = None
    usage: UsageDelta | None = None
    _call_ids: set[int] = field(default_factory=set)
    _call_names: set[int] = field(default_factory=set)
    _reasoning_fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._reasoning_fields = _reasoning_fields(self.caps)

    def feed(self, chunk: Mapping[str, object]) -> list[ChatDelta]:
        """The deltas carried by one `chat.completion.chunk`."""
        usage = chunk.get("usage")
        if usage is not None:
            self.usage = decode_usage(usage) or self.usage
        out: list[ChatDelta] = []
        for raw_choice in _list(chunk.get("choices")):
            choice = _obj(raw_choice)
            if _int(choice.get("index")) != 0:
                continue
            out.extend(self._delta(_obj(choice.get("delta")), choice.get("logprobs")))
            reason = _str(choice.get("finish_reason"))
            if reason:
                self.finish = finish_reason(reason)
        return out

    def close(self) -> list[ChatDelta]:
        """Usage (when the upstream sent any) and the one `FinishDelta`."""
        reason: FinishReason = self.finish or "stop"
        if reason == "stop" and self._call_ids:
            reason = "tool_calls"
        out: list[ChatDelta] = [self.usage] if self.usage else []
        out.append(FinishDelta(reason))
        return out

    def _delta(self, delta: Mapping[str, object], logprobs: object) -> list[ChatDelta]:
        if len(delta) == 1 and logprobs is None:  # most chunks: {"content": "..."}, decided at once
            text = delta.get("content")
            if isinstance(text, str) and text:
                return [TextDelta(text)]
        out: list[ChatDelta] = []
        reasoning = _first_text(delta, self._reasoning_fields)
        if reasoning:
            out.append(ReasoningDelta(reasoning))
        text = _str(delta.get("content")) or ""
        token_logprobs = decode_logprobs(logprobs) if logprobs is not None else ()
        if text or token_logprobs:
            out.append(TextDelta(text, token_logprobs))
        refusal = _str(delta.get("refusal"))
        if refusal:
            out.append(RefusalDelta(refusal))
        calls = delta.get("tool_calls")
        if calls:
            for position, raw_call in enumerate(_list(calls)):
                out.append(self._tool_call(_obj(raw_call), position))
        return out

    def _tool_call(self, call: Mapping[str, object], position: int) -> ToolCallDelta:
        index = _int(call.get("index")) if "index" in call else position
        function = _obj(call.get("function"))
        call_id = name = None
        if index not in self._call_ids:
            self._call_ids.add(index)
            call_id = _str(call.get("id")) or _new_call_id()
        raw_name = _str(function.get("name"))
        if raw_name and index not in self._call_names:
            self._call_names.add(index)
            name = raw_name
        return ToolCallDelta(index, call_id, name, _arguments(function.get("arguments")))


def decode_completion(body: Mapping[str, object], caps: Capabilities) -> list[ChatDelta]:
    """The deltas of one non-streamed `chat.completion` body, in stream order."""
    choices = _list(body.get("choices"))
    if not choices:
        raise WireError("completion has no choices")
    choice = _obj(choices[0])
    message = _obj(choice.get("message"))
    out: list[ChatDelta] = []
    reasoning = _first_text(message, _reasoning_fields(caps))
    if reasoning:
        out.append(ReasoningDelta(reasoning))
    text, logprobs = _str(message.get("content")) or "", decode_logprobs(choice.get("logprobs"))
    if text or logprobs:
        out.append(TextDelta(text, logprobs))
    refusal = _str(message.get("refusal"))
    if refusal:
        out.append(RefusalDelta(refusal))
    out.extend(_complete_calls(message.get("tool_calls")))
    usage = decode_usage(body.get("usage"))
    if usage:
        out.append(usage)
    reason = finish_reason(_str(choice.get("finish_reason")) or "stop")
    out.append(FinishDelta("tool_calls" if reason == "stop" and message.get("tool_calls") else reason))
    return out


def _complete_calls(raw: object) -> list[ToolCallDelta]:
    out: list[ToolCallDelta] = []
    for index, raw_call in enumerate(_list(raw)):
        call = _obj(raw_call)
        function = _obj(call.get("function"))
        call_id = _str(call.get("id")) or _new_call_id()
        name = _str(function.get("name")) or ""
        out.append(ToolCallDelta(index, call_id, name, _arguments(function.get("arguments"))))
    return out
