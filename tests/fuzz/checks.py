"""The properties every fuzz case must keep, and how a broken one is reported.

A broken property raises a `Finding` subclass made per category (e.g. "rest 500 POST /v1/responses",
"grpc INTERNAL ResponsesService/Create"), so that hypothesis, which tells bugs apart by exception
type and line, shrinks and reports each distinct failure instead of only the first. With
`REJOINDER_FUZZ_SURVEY=1` nothing raises: each finding is only appended to the JSON-lines file named
by `REJOINDER_FUZZ_FINDINGS` (also written in the normal mode), and the run goes on through every
example: a census of failures for a long local run.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, field
from typing import Any

import grpc
from hypothesis import event

EXAMPLES = int(os.environ.get("REJOINDER_FUZZ_EXAMPLES", "150"))
SEED = int(os.environ.get("REJOINDER_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
SURVEY = os.environ.get("REJOINDER_FUZZ_SURVEY") == "1"
FINDINGS_FILE = os.environ.get("REJOINDER_FUZZ_FINDINGS")

CALL_LIMIT_S = 15.0
MAX_MESSAGE_CHARS = 2000
BAD_GRPC_CODES = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)
INTERNAL_FAILURE = "The server had an error while processing"
_ERROR_KEYS = {"message": str, "type": str}
_NULLABLE_KEYS = ("param", "code")


class Finding(AssertionError):
    """A fuzz property broke; subclasses name the category."""


_CATEGORIES: dict[str, type[Finding]] = {}


def _category_class(category: str) -> type[Finding]:
    found = _CATEGORIES.get(category)
    if found is None:
        name = "Finding_" + re.sub(r"\W+", "_", category)[:80]
        found = type(name, (Finding,), {})
        _CATEGORIES[category] = found
    return found


def _clip(value: object, limit: int = 3000) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def finding(category: str, detail: str, case: dict[str, Any]) -> None:
    """Record a broken property; raise it unless surveying."""
    if FINDINGS_FILE:
        record = {"category": category, "detail": _clip(detail), "seed": SEED}
        record |= {k: _clip(v) for k, v in case.items()}
        with open(FINDINGS_FILE, "a") as out:
            out.write(json.dumps(record) + "\n")
    if SURVEY:
        return
    lines = [f"[{category}] {detail}", *(f"  {k}: {_clip(v, 1500)}" for k, v in case.items())]
    lines.append(f"  (run seed {SEED}: rerun with REJOINDER_FUZZ_SEED={SEED})")
    raise _category_class(category)("\n".join(lines))


@dataclass
class RestReply:
    """What came back for one REST request."""

    status: int
    content_type: str
    body: bytes
    elapsed_s: float
    finished: bool  # the body was read to its end within the limit
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the connection failed (reset, refused, protocol error)


def error_shape_problem(body: bytes) -> str | None:
    """Why this is not OpenAI's error body, or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return "error body is not JSON"
    if not isinstance(data, dict) or set(data) != {"error"} or not isinstance(data["error"], dict):
        return "error body is not {'error': {...}}"
    error = data["error"]
    for key, kind in _ERROR_KEYS.items():
        if not isinstance(error.get(key), kind):
            return f"error.{key} is not a {kind.__name__}"
    for key in _NULLABLE_KEYS:
        if key not in error or not (error[key] is None or isinstance(error[key], str)):
            return f"error.{key} is not a string or null"
    if len(error["message"]) >= MAX_MESSAGE_CHARS:
        return f"error.message is {len(error['message'])} characters long"
    return None


def _sse_problem(body: bytes) -> str | None:
    """Why this event stream is broken (unterminated, unparsable, out of order), or None."""
    frames = [f for f in body.decode("utf-8", "replace").split("\n\n") if f.strip()]
    if not frames or frames[-1].strip() != "data: [DONE]":
        return "stream does not end with data: [DONE]"
    last_seq = -1
    for frame in frames[:-1]:
        lines = frame.split("\n")
        if all(line.startswith(":") for line in lines):
            continue  # keep-alive comment
        event = next((ln[7:] for ln in lines if ln.startswith("event: ")), None)
        data = next((ln[6:] for ln in lines if ln.startswith("data: ")), None)
        if event is None or data is None:
            return f"frame without event/data: {frame[:200]!r}"
        try:
            payload = json.loads(data)
        except ValueError:
            return f"event data is not JSON: {data[:200]!r}"
        if not isinstance(payload, dict) or payload.get("type") != event:
            return f"event {event!r} carries {str(payload)[:200]}"
        if payload.get("sequence_number", 0) <= last_seq:
            return "sequence_number does not rise"
        last_seq = payload.get("sequence_number", last_seq)
        problem = _failed_internally(payload.get("response") or {})
        if problem or (event == "error" and INTERNAL_FAILURE in str(payload.get("message"))):
            return problem or f"error event: {payload.get('message')}"
    return None


def _failed_internally(response: object) -> str | None:
    if isinstance(response, dict) and response.get("status") == "failed":
        message = str((response.get("error") or {}).get("message"))
        if INTERNAL_FAILURE in message:
            return f"response failed internally: {message}"
    return None


def check_rest(reply: RestReply, case: dict[str, Any], route: str, method: str = "POST") -> None:
    """No 5xx, OpenAI error bodies, done in time, streams that end, no internal failures."""
    case = {**case, "status": reply.status, "content_type": reply.content_type, "reply": reply.body[:3000]}
    event(f"{method} {route}: {reply.status} {_error_code(reply)}")
    if reply.error is not None:
        finding(f"rest connection {method} {route}", reply.error, case)
        return
    if not reply.finished or reply.elapsed_s > CALL_LIMIT_S:
        finding(f"rest hang {method} {route}", f"no complete reply after {reply.elapsed_s:.1f}s", case)
        return
    if reply.status >= 500:
        finding(f"rest {reply.status} {method} {route}", f"HTTP {reply.status}", case)
    if method == "HEAD" or reply.status < 300:
        _check_success(reply, case, route, method)
        return
    problem = error_shape_problem(reply.body)
    if problem is not None:
        kind = "long message" if "characters long" in problem else "error shape"
        finding(f"rest {kind} {reply.status} {method} {route}", problem, case)


def _error_code(reply: RestReply) -> str:
    if reply.status < 400:
        return "stream" if reply.content_type.startswith("text/event-stream") else ""
    try:
        return str(json.loads(reply.body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


def _check_success(reply: RestReply, case: dict[str, Any], route: str, method: str) -> None:
    if reply.content_type.startswith("text/event-stream"):
        problem = _sse_problem(reply.body)
        if problem is not None:
            finding(f"rest stream {method} {route}", problem, case)
        return
    if method == "HEAD" or not reply.body:
        return
    try:
        data = json.loads(reply.body)
    except ValueError:
        finding(f"rest non-json {reply.status} {method} {route}", "success body is not JSON", case)
        return
    problem = _failed_internally(data)
    if problem is not None:
        finding(f"rest failed response {method} {route}", problem, case)


def check_grpc_status(
    code: grpc.StatusCode, message: str, elapsed_s: float, method: str, case: dict[str, Any]
) -> None:
    """No UNKNOWN/INTERNAL, no hang (DEADLINE_EXCEEDED at our own deadline), short messages."""
    case = {**case, "code": code.name, "message": message[:3000], "elapsed_s": round(elapsed_s, 3)}
    if code is grpc.StatusCode.DEADLINE_EXCEEDED or elapsed_s > CALL_LIMIT_S:
        finding(f"grpc hang {method}", f"{code.name} after {elapsed_s:.1f}s", case)
    elif code in BAD_GRPC_CODES:
        finding(f"grpc {code.name} {method} {_shape_of(message)}", f"{code.name}: {message[:300]}", case)
    elif len(message) >= MAX_MESSAGE_CHARS:
        finding(f"grpc long message {method}", f"status message of {len(message)} characters", case)


def _shape_of(message: str) -> str:
    """A message with its particulars (numbers, quoted values) blurred, to tell distinct failures apart."""
    return re.sub(r"'[^']*'|\d+", "#", message)[:60]


def traceback_category(log_text: str) -> str:
    """`traceback <ExceptionType>` from the last line of the last traceback in `log_text`."""
    tail = log_text[log_text.rfind("Traceback") :]
    for line in tail.splitlines()[1:]:
        if line and not line.startswith((" ", "\t", "Traceback", "During handling", "The above")):
            return "traceback " + line.split(":", 1)[0][:80]
    return "traceback"
