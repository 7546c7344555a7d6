"""The chat completions wire format, server side, answer half: normalized deltas in, OpenAI's JSON out.

The inverse of `chat_decode.StreamDecoder` and `decode_completion`. `ChunkWriter` turns each delta into
one `chat.completion.chunk` SSE frame as it comes (reasoning in `reasoning_content`, which the generic
adapter reads whatever its `reasoning_field`), holds usage back for one `choices: []` chunk after the
rest (only when the client asked with `stream_options.include_usage`, as OpenAI does), and ends with
`data: [DONE]`. `CompletionFolder` folds the deltas of a non-streamed answer into one `chat.completion`.
An error after the first frame is one frame `{"error": {..., "code": <HTTP status>}}` and no `[DONE]`
(the in-band shape vLLM uses, which the adapter turns back into an `UpstreamError` with that status).
Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import orjson

from rejoinder.providers.base import (
    ChatDelta,
    FinishDelta,
    FinishReason,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    UpstreamModel,
    UsageDelta,
)

JsonObject = dict[str, object]
DONE_FRAME = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class CompletionHead:
    """What every chunk (and the folded completion) of one answer repeats: its id, time and model."""

    id: str
    created: int
    model: str


def frame(obj: JsonObject) -> bytes:
    """One SSE event carrying `obj`."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def error_object(
    message: str, error_type: str, code: str | int | None, param: str | None = None
) -> JsonObject:
    """OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def error_type_of(status: int) -> str:
    """OpenAI's `type` for an error with this HTTP status."""
    return "invalid_request_error" if status < 500 else "server_error"


def error_frame(status: int, message: str) -> bytes:
    """The frame that ends a stream with an error: `code` is the HTTP status the error would have had."""
    return frame(error_object(message, error_type_of(status), status))


def usage_object(usage: UsageDelta) -> JsonObject:
    """OpenAI's `usage`, with the cached and reasoning token details."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def logprobs_object(logprobs: Sequence[TokenLogprob]) -> JsonObject | None:
    """`choices[i].logprobs`, or None when there are none."""
    if not logprobs:
        return None
    content = [
        {
            "token": entry.token,
            "logprob": entry.logprob,
            "bytes": _bytes(entry.bytes),
            "top_logprobs": [
                {"token": top.token, "logprob": top.logprob, "bytes": _bytes(top.bytes)}
                for top in entry.top_logprobs
            ],
        }
        for entry in logprobs
    ]
    return {"content": content, "refusal": None}


def _bytes(value: tuple[int, ...] | None) -> list[int] | None:
    return None if value is None else list(value)


def _call_fragment(delta: ToolCallDelta) -> JsonObject:
    function: JsonObject = {"arguments": delta.arguments}
    if delta.name is not None:
        function = {"name": delta.name, **function}
    out: JsonObject = {"index": delta.index}
    if delta.id is not None:
        out |= {"id": delta.id, "type": "function"}
    return out | {"function": function}


def _choice_delta(delta: ChatDelta) -> tuple[JsonObject, JsonObject | None, FinishReason | None]:
    """The `delta`, `logprobs` and `finish_reason` of the choice that carries `delta`."""
    match delta:
        case TextDelta(text=text, logprobs=logprobs):
            return {"content": text}, logprobs_object(logprobs), None
        case ReasoningDelta(text=text):
            return {"reasoning_content": text}, None, None
        case RefusalDelta(text=text):
            return {"refusal": text}, None, None
        case ToolCallDelta():
            return {"tool_calls": [_call_fragment(delta)]}, None, None
        case FinishDelta(reason=reason):
            return {}, None, reason
    raise TypeError(f"not a choice delta: {delta!r}")


@dataclass
class ChunkWriter:
    """SSE frames of one streamed answer, a frame per delta (see the module docstring)."""

    head: CompletionHead
    include_usage: bool
    _usage: UsageDelta | None = None
    _started: bool = False

    def _chunk(self, choices: list[JsonObject], usage: UsageDelta | None = None) -> bytes:
        chunk: JsonObject = {
            "id": self.head.id,
            "object": "chat.completion.chunk",
            "created": self.head.created,
            "model": self.head.model,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = usage_object(usage)
        return frame(chunk)

    def feed(self, delta: ChatDelta) -> bytes:
        """The frame of `delta`; b"" for usage, which is held back for `end`."""
        if isinstance(delta, UsageDelta):
            self._usage = delta
            return b""
        content, logprobs, finish = _choice_delta(delta)
        if not self._started:  # OpenAI names the role in the first chunk
            self._started = True
            content = {"role": "assistant", **content}
        choice: JsonObject = {"index": 0, "delta": content, "logprobs": logprobs, "finish_reason": finish}
        return self._chunk([choice])

    def end(self) -> bytes:
        """The usage chunk (when asked for and known) and `[DONE]`."""
        if self.include_usage and self._usage is not None:
            return self._chunk([], self._usage) + DONE_FRAME
        return DONE_FRAME


@dataclass
class _Call:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


@dataclass
class CompletionFolder:
    """Folds the deltas of one answer into one `chat.completion` body."""

    _reasoning: list[str] = field(default_factory=list)
    _text: list[str] = field(default_factory=list)
    _logprobs: list[TokenLogprob] = field(default_factory=list)
    _refusal: list[str] = field(default_factory=list)
    _calls: dict[int, _Call] = field(default_factory=dict)
    _usage: UsageDelta | None = None
    _finish: FinishReason | None = None

    def feed(self, delta: ChatDelta) -> None:
        """Take one delta."""
        match delta:
            case TextDelta(text=text, logprobs=logprobs):
                self._text.append(text)
                self._logprobs.extend(logprobs)
            case ReasoningDelta(text=text):
                self._reasoning.append(text)
            case RefusalDelta(text=text):
                self._refusal.append(text)
            case ToolCallDelta():
                call = self._calls.setdefault(delta.index, _Call())
                call.id = call.id or delta.id
                call.name = call.name or delta.name
                call.arguments.append(delta.arguments)
            case UsageDelta():
                self._usage = delta
            case FinishDelta(reason=reason):
                self._finish = reason

    def body(self, head: CompletionHead, new_call_id: Callable[[], str]) -> bytes:
        """The completion; a call the deltas gave no id gets one from `new_call_id`."""
        calls = [
            {
                "id": call.id or new_call_id(),
                "type": "function",
                "function": {"name": call.name or "", "arguments": "".join(call.arguments)},
            }
            for _, call in sorted(self._calls.items())
        ]
        text = "".join(self._text)
        message: JsonObject = {
            "role": "assistant",
            "content": text if text or not calls else None,
            "refusal": "".join(self._refusal) or None,
        }
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        if calls:
            message["tool_calls"] = calls
        choice = {
            "index": 0,
            "message": message,
            "logprobs": logprobs_object(self._logprobs),
            "finish_reason": self._finish or "stop",
        }
        body: JsonObject = {
            "id": head.id,
            "object": "chat.completion",
            "created": head.created,
            "model": head.model,
            "choices": [choice],
        }
        if self._usage is not None:
            body["usage"] = usage_object(self._usage)
        return orjson.dumps(body)


def model_list(models: Iterable[UpstreamModel]) -> bytes:
    """OpenAI's model list; `created` and `owned_by` only where known."""
    data: list[JsonObject] = []
    for model in models:
        entry: JsonObject = {"id": model.id, "object": "model"}
        if model.created is not None:
            entry["created"] = model.created
        if model.owned_by is not None:
            entry["owned_by"] = model.owned_by
        data.append(entry)
    return orjson.dumps({"object": "list", "data": data})
