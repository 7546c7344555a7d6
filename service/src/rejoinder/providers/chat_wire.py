"""The chat completions wire format, request half: a `ChatRequest` out as the JSON body. Pure; no I/O.

`build_body` turns a `ChatRequest` into the JSON object an OpenAI-compatible upstream accepts, omitting
every unset key, and `encode_steps` writes it out as bytes with the messages put in, a message per step.
`messages_json` gives the messages alone, as the body carries them. The answer half (the upstream's
chunks and bodies read back into `ChatDelta`s) is `chat_decode`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson

from rejoinder.pacing import Steps
from rejoinder.providers.base import (
    Capabilities,
    ChatMessage,
    ChatRequest,
    FunctionTool,
    ImagePart,
    TextPart,
    ToolChoice,
    UpstreamError,
)

JsonObject = dict[str, object]


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
