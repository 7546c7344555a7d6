"""An upstream's JSON read: the object of a body or of one SSE event, and the message of an error it
reported (in a failed answer, or in band inside a 200 one). Every failure is an `UpstreamError`."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from rejoinder.providers.base import UpstreamError

_ERROR_TEXT_LIMIT = 200


def error_message(raw: bytes) -> str | None:
    """The message of an error body: `{"error": {"message"}}`, `{"error": "..."}`, `{"message"}` or text."""
    try:
        parsed: object = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        for candidate in (error.get("message") if isinstance(error, dict) else error, parsed.get("message")):
            if isinstance(candidate, str) and candidate:
                return candidate
    text = raw.decode("utf-8", "replace").strip()
    return text[:_ERROR_TEXT_LIMIT] or None


def json_object(raw: bytes | str) -> Mapping[str, object]:
    """The object of a whole JSON body."""
    try:
        parsed: object = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("protocol", f"upstream sent malformed JSON: {exc}") from exc
    return _chat_object(parsed)


def event_json(data: bytes) -> Mapping[str, object]:
    """The object of one SSE event. The stream is text: bytes that are not UTF-8 are read as U+FFFD."""
    try:
        parsed: object = orjson.loads(data)
    except orjson.JSONDecodeError:
        return json_object(data.decode("utf-8", "replace"))
    return _chat_object(parsed)


def _chat_object(parsed: object) -> Mapping[str, object]:
    if not isinstance(parsed, dict):
        raise UpstreamError("protocol", "upstream sent JSON that is not an object")
    if "error" in parsed and "choices" not in parsed:
        raise _in_band_error(parsed)
    return parsed


def _in_band_error(body: Mapping[str, object]) -> UpstreamError:
    """An error the upstream reported inside a 200 answer (vLLM does so mid-stream)."""
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code <= 599 else 500
    message = error_message(orjson.dumps(body)) or "upstream reported an error"
    return UpstreamError("status", message, status=status)
