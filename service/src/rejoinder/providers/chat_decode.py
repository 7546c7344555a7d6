"""The chat completions wire format, answer half: an upstream's JSON in, normalized deltas out. Pure; no I/O.

`StreamDecoder` folds the `chat.completion.chunk` objects of a streamed answer into `ChatDelta`s and
`decode_completion` does the same for one `chat.completion` body; `decode_usage`, `decode_logprobs` and
`finish_reason` read the parts they share. Both absorb the usual upstream quirks: reasoning in
`reasoning_content` or `reasoning`, tool-call chunking, usage placement, odd finish reasons. Every
field is read as untrusted JSON: one that is missing or of the wrong type reads as absent; only a body
with no choices at all is a `WireError`. The request half is `chat_wire`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import uuid4

from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    FinishDelta,
    FinishReason,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    TopLogprob,
    UsageDelta,
)

_FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
}

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
