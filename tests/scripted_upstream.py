"""A real OpenAI chat completions server on 127.0.0.1, answering what tests script.

The one stand-in of the project: it speaks HTTP/1.1 (keep-alive, chunked or close-delimited SSE) from a
`ThreadingHTTPServer` in a daemon thread, so it works under any event loop and through any client.

    with ScriptedUpstream() as upstream:
        upstream.enqueue(Script(text=["Hel", "lo"], reasoning=["think"]))
        ...  # point a client at upstream.base_url
        assert upstream.requests[-1]["model"] == "m"

An empty queue answers "You said: <last user text>". Every chat request is recorded, body and headers.

`GET /v1/models` lists `models` (ids, or whole entries sent as given); `models_status != 200` makes it
fail with that status, `models_delay_s` makes it slow. Its requests are recorded in `model_requests`.

`POST /v1/embeddings` answers every input with a deterministic vector made from the text's SHA-256 (of
`dimensions` floats when the request asks, else `embedding_dimensions`; not unit length, and listed in
reverse order with their `index`). Bodies are recorded in `embedding_requests`, headers in
`embedding_headers`; `embedding_faults` (statuses like 429 or 500, "missing"/"wrong_dimensions" for a
reply one vector short or one float long, or a number of seconds as a float to wait before answering) is
consumed one per request.

Tokenizer routes, at the server's root as vLLM and llama.cpp serve them, when `tokenizer` says which
server to be ("none", the default, answers them 404 like any other OpenAI-compatible server):
"vllm" serves `POST /tokenize` with chat `messages` (and `tools`) as `{"count", "max_model_len",
"tokens"}`; "llamacpp" serves `POST /apply-template` (`{"prompt"}`), `POST /tokenize` of a `content`
(`{"tokens"}`) and `GET /props` (`default_generation_settings.n_ctx`). The scripted tokenizer renders
messages as `<|role|> text` lines (`rendered_prompt`) and counts one token per whitespace-separated
word, so both servers count the same request alike. Bodies are recorded in `tokenize_requests` as
(path, body).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

UsageSpec = tuple[int, int, int, int]
"""(prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens)."""

Outcome = Literal["pending", "completed", "client_gone", "dropped", "aborted"]

_SAMPLED_LOGPROB = -0.5


@dataclass(frozen=True)
class ScriptedToolCall:
    """A tool call streamed like vLLM: a header chunk (id, name, "" arguments), then `chunks` fragments."""

    id: str
    name: str
    arguments: str
    chunks: int = 2


@dataclass(frozen=True)
class Script:
    """What the upstream answers to one chat completions request.

    `text`/`refusal` as a str are split into word chunks; a list is sent chunk by chunk.
    `usage="auto"` computes usage from the script; None sends none. `usage_in_final_chunk=True` sends
    usage in its own last chunk with `choices: []` (OpenAI, vLLM); False puts it in the chunk carrying
    `finish_reason`. Streamed usage is only sent when the request asked for it
    (`stream_options.include_usage`), as OpenAI does. `status != 200` answers `error_body` (default
    OpenAI-shaped; a str is sent as text/plain) before any event. `drop_after_chunks=N` closes the
    connection after N events, without [DONE]. `close_delimited` sends SSE with `Connection: close` and
    no chunked framing, so a drop looks like a clean end of body. `http_chunk_bytes=N` sends the whole
    stream at once, cut into HTTP chunks of N bytes whatever the event bounds. `one_write` sends each
    event in its own HTTP chunk, as upstreams do, but all of them in one socket write after the head:
    an instant upstream, whose whole answer the client reads at once. `raw_events` replaces the
    generated events with these verbatim `data:` payloads (no [DONE] added); for a non-stream request they are
    joined into the body. `stall_before_head` never answers; `stall_after_chunks=N` sends the head and N
    events (for a non-stream request: the head only), then goes silent. A stalled answer holds its
    connection open, sending nothing, until the client closes it (outcome "client_gone") or the upstream
    stops.
    """

    text: str | list[str] = ""
    reasoning: list[str] = field(default_factory=list)
    reasoning_field: str = "reasoning_content"
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    refusal: str | list[str] | None = None
    finish_reason: str | None = None
    usage: UsageSpec | Literal["auto"] | None = "auto"
    usage_in_final_chunk: bool = True
    logprobs: bool = False
    status: int = 200
    error_body: dict[str, Any] | str | None = None
    retry_after: str | None = None
    drop_after_chunks: int | None = None
    delay_s: float = 0.0
    first_byte_delay_s: float = 0.0
    close_delimited: bool = False
    http_chunk_bytes: int | None = None
    one_write: bool = False
    raw_events: list[str] | None = None
    stall_before_head: bool = False
    stall_after_chunks: int | None = None


@dataclass
class ReceivedRequest:
    """One request as the upstream saw it; `outcome` says how its answer ended."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    outcome: Outcome = "pending"
    raw: bytes = field(default=b"", repr=False)  # the body's bytes as sent (chat requests)
    _ended: threading.Event = field(default_factory=threading.Event, repr=False)

    def end(self, outcome: Outcome) -> None:
        """Record how the answer ended (first call wins)."""
        if not self._ended.is_set():
            self.outcome = outcome
            self._ended.set()

    def wait_ended(self, timeout: float = 5.0) -> Outcome:
        """Block until the answer ended; returns the outcome ("pending" on timeout)."""
        self._ended.wait(timeout)
        return self.outcome


def _words(text: str) -> list[str]:
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]


def _fragments(text: str, count: int) -> list[str]:
    count = max(1, count)
    size = -(-len(text) // count) or 1
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _logprob(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


class _Composer:
    """Turns a Script plus the request into chat completion JSON (chunks or one body)."""

    def __init__(self, script: Script, request: dict[str, Any], serial: int) -> None:
        self.script = script
        self.request = request
        self.id = f"chatcmpl-scripted-{serial}"
        self.model = str(request.get("model", "scripted-model"))
        self.text = _words(script.text) if isinstance(script.text, str) else list(script.text)
        refusal = script.refusal or []
        self.refusal = _words(refusal) if isinstance(refusal, str) else list(refusal)
        self.top_n = int(request.get("top_logprobs") or 0)

    def finish_reason(self) -> str:
        return self.script.finish_reason or ("tool_calls" if self.script.tool_calls else "stop")

    def usage(self) -> dict[str, Any] | None:
        spec = self.script.usage
        if spec == "auto":
            prompt = sum(len(_message_text(m).split()) for m in self.request.get("messages", []))
            tool_chunks = sum(1 + c.chunks for c in self.script.tool_calls)
            completion = len(self.text) + len(self.script.reasoning) + len(self.refusal) + tool_chunks
            spec = (max(prompt, 1), completion, 0, len(self.script.reasoning))
        if spec is None:
            return None
        prompt, completion, cached, reasoning = spec
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }

    def logprobs(self, pieces: list[str]) -> dict[str, Any] | None:
        if not self.script.logprobs:
            return None
        return {"content": [self._token_logprob(piece) for piece in pieces]}

    def _token_logprob(self, token: str) -> dict[str, Any]:
        """The sampled token at -0.5, then alternatives `altK` at -(K+1), `top_logprobs` of them in all."""
        top = [_logprob(token, _SAMPLED_LOGPROB)] + [_logprob(f"alt{k}", -(k + 1.0)) for k in range(1, 20)]
        return _logprob(token, _SAMPLED_LOGPROB) | {"top_logprobs": top[: self.top_n]}

    def chunk(self, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [choice],
        }

    def events(self) -> list[str]:
        """The `data:` payloads of the streamed answer, [DONE] included."""
        if self.script.raw_events is not None:
            return list(self.script.raw_events)
        field_name = self.script.reasoning_field
        chunks = [self.chunk({"role": "assistant", "content": ""})]
        chunks += [self.chunk({field_name: r}) for r in self.script.reasoning]
        chunks += [self.chunk({"content": t}, logprobs=self.logprobs([t])) for t in self.text]
        chunks += [self.chunk({"refusal": r}) for r in self.refusal]
        for index, call in enumerate(self.script.tool_calls):
            function = {"name": call.name, "arguments": ""}
            header = {"index": index, "id": call.id, "type": "function", "function": function}
            chunks.append(self.chunk({"tool_calls": [header]}))
            for fragment in _fragments(call.arguments, call.chunks):
                chunks.append(
                    self.chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
                )
        chunks.append(self.chunk({}, finish=self.finish_reason()))
        usage = self.usage() if (self.request.get("stream_options") or {}).get("include_usage") else None
        if usage is not None and self.script.usage_in_final_chunk:
            chunks.append({**self.chunk({}), "choices": [], "usage": usage})
        elif usage is not None:
            chunks[-1]["usage"] = usage
        return [json.dumps(c) for c in chunks] + ["[DONE]"]

    def body(self) -> bytes:
        """The non-streamed answer."""
        if self.script.raw_events is not None:
            return "".join(self.script.raw_events).encode()
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.script.reasoning:
            message[self.script.reasoning_field] = "".join(self.script.reasoning)
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.script.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.script.tool_calls
            ]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": self.logprobs(self.text),
            "finish_reason": self.finish_reason(),
        }
        body = {"id": self.id, "object": "chat.completion", "created": int(time.time()), "model": self.model}
        body |= {"choices": [choice], "usage": self.usage()}
        return json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True

    def __init__(self, upstream: ScriptedUpstream) -> None:
        self.upstream = upstream
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by a client or by `stop()` are expected; anything else is printed."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Abort(Exception):
    """The upstream is stopping, or the script dropped the connection."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `requests`, not logs."""

    def setup(self) -> None:
        super().setup()
        self.server.upstream._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.upstream._track(self.connection, add=False)
        super().finish()

    def do_GET(self) -> None:
        if self.path == "/props" and self.server.upstream.tokenizer == "llamacpp":
            n_ctx = self.server.upstream.context_window
            self._send_json_at_once(200, {"default_generation_settings": {"n_ctx": n_ctx}, "total_slots": 1})
        elif self.path == "/v1/models":
            upstream = self.server.upstream
            record, status, delay_s = upstream._receive_models(self)
            try:
                self._pause(delay_s)
            except _Abort:
                self.close_connection = True
                record.end("aborted")
                return
            if status != 200:
                self._send_json(status, _error(f"scripted models error {status}", "server_error", None))
            else:
                data = [_model_entry(m) for m in upstream.models]
                self._send_json(200, {"object": "list", "data": data})
            record.end("completed")
        else:
            self._send_json(404, _error(f"Not found: GET {self.path}", "invalid_request_error", 404))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/v1/embeddings":
            self._embeddings(raw)
            return
        if self.path in ("/tokenize", "/apply-template") and self.server.upstream.tokenizer != "none":
            self._tokenizer(self.path, raw)
            return
        if self.path != "/v1/chat/completions":
            self._send_json(404, _error(f"Not found: POST {self.path}", "invalid_request_error", 404))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_json(
                400, _error("body must be a JSON object with messages", "invalid_request_error", 400)
            )
            return
        upstream = self.server.upstream
        record, script, serial = upstream._receive(self, body, raw)
        try:
            self._answer(_Composer(script, body, serial), record)
        except _Abort:
            self.close_connection = True
            record.end("aborted")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
            record.end("client_gone")

    def _tokenizer(self, path: str, raw: bytes) -> None:
        upstream = self.server.upstream
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_json_at_once(400, _error("body must be a JSON object", "invalid_request_error", 400))
            return
        with upstream._lock:
            upstream.tokenize_requests.append((path, body))
        prompt = rendered_prompt(body.get("messages", []), body.get("tools"))
        if path == "/apply-template":
            self._send_json_at_once(200, {"prompt": prompt})
        elif upstream.tokenizer == "vllm":
            words = prompt.split()
            tokens = list(range(len(words)))
            count = {"count": len(words), "max_model_len": upstream.context_window, "tokens": tokens}
            self._send_json_at_once(200, count)
        else:
            self._send_json_at_once(200, {"tokens": list(range(len(str(body.get("content", "")).split())))})

    def _embeddings(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        texts = body.get("input") if isinstance(body, dict) else None
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            self._send_json(
                400, _error("input must be a string or a list of strings", "invalid_request_error", 400)
            )
            return
        assert isinstance(body, dict)
        fault = self.server.upstream._receive_embeddings(body, self.headers.items())
        if isinstance(fault, float):
            try:
                self._pause(fault)
            except _Abort:
                self.close_connection = True
                return
        elif isinstance(fault, int):
            kind = "rate_limit_error" if fault == 429 else "server_error"
            self._send(
                fault,
                json.dumps(_error(f"scripted error {fault}", kind, None)).encode(),
                {"retry-after": "1"},
            )
            return
        dims = body.get("dimensions") or self.server.upstream.embedding_dimensions
        vectors = [_vector(t, dims) for t in texts]
        if fault == "wrong_dimensions":
            vectors[0].append(1.0)
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        if fault == "missing":
            data.pop()
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        self._send_json(
            200, {"object": "list", "data": data[::-1], "model": body.get("model"), "usage": usage}
        )

    def _answer(self, composer: _Composer, record: ReceivedRequest) -> None:
        script = composer.script
        self._pause(script.first_byte_delay_s)
        if script.stall_before_head:
            self._stall(record)
        if script.status != 200:
            self._send_error_reply(script)
        elif composer.request.get("stream"):
            self._stream(composer, record)
        elif script.stall_after_chunks is not None:
            self._send_head(200, {"content-length": str(len(composer.body()))})
            self._stall(record)
        elif script.drop_after_chunks is not None:
            self._send(200, composer.body(), truncate=True)
            record.end("dropped")
        else:
            self._send(200, composer.body())
        record.end("completed")

    def _stream(self, composer: _Composer, record: ReceivedRequest) -> None:
        script = composer.script
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        if script.close_delimited:
            self.send_header("connection", "close")
            self.close_connection = True
        else:
            self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        if script.http_chunk_bytes is not None or script.one_write:
            self._send_at_once(composer)
            return
        for count, data in enumerate(composer.events()):
            if script.drop_after_chunks is not None and count >= script.drop_after_chunks:
                self._drop(record)
            if script.stall_after_chunks is not None and count >= script.stall_after_chunks:
                self._stall(record)
            if count:
                self._pause(script.delay_s)
            self._write(f"data: {data}\n\n".encode(), script.close_delimited)
        if not script.close_delimited:
            self.wfile.write(b"0\r\n\r\n")

    def _send_at_once(self, composer: _Composer) -> None:
        """The whole stream in one go: cut into `http_chunk_bytes` pieces, or (`one_write`) an HTTP chunk
        per event, all in one socket write."""
        script = composer.script
        if script.one_write:
            chunks = (f"data: {data}\n\n".encode() for data in composer.events())
            self.wfile.write(b"".join(b"%x\r\n%b\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n")
            return
        assert script.http_chunk_bytes is not None
        whole = b"".join(f"data: {data}\n\n".encode() for data in composer.events())
        for at in range(0, len(whole), script.http_chunk_bytes):
            self._write(whole[at : at + script.http_chunk_bytes], script.close_delimited)
        if not script.close_delimited:
            self.wfile.write(b"0\r\n\r\n")

    def _write(self, data: bytes, close_delimited: bool) -> None:
        self.wfile.write(data if close_delimited else f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop(self, record: ReceivedRequest) -> None:
        record.end("dropped")
        self.connection.shutdown(socket.SHUT_RDWR)
        raise _Abort

    def _stall(self, record: ReceivedRequest) -> None:
        """Send nothing until the client closes the connection (or the upstream stops)."""
        while not self.server.upstream._stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                record.end("client_gone")
                raise ConnectionAbortedError
            if readable:  # the client sent more (a pipelined request): keep waiting without spinning
                self.server.upstream._stopping.wait(0.05)
        raise _Abort

    def _pause(self, seconds: float) -> None:
        if seconds > 0 and self.server.upstream._stopping.wait(seconds):
            raise _Abort

    def _send_error_reply(self, script: Script) -> None:
        headers = {"retry-after": script.retry_after} if script.retry_after else {}
        if isinstance(script.error_body, str):
            self._send(script.status, script.error_body.encode(), headers | {"content-type": "text/plain"})
            return
        kind = "rate_limit_error" if script.status == 429 else "server_error"
        body = script.error_body or _error(f"scripted error {script.status}", kind, None)
        self._send(script.status, json.dumps(body).encode(), headers)

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode())

    def _send_json_at_once(self, status: int, body: dict[str, Any]) -> None:
        """Head and body in one write, as real servers answer a small request (two writes meet
        Nagle's algorithm and the client's delayed ACK: 40 ms a call)."""
        payload = json.dumps(body).encode()
        head = f"{self.protocol_version} {status} {HTTPStatus(status).phrase}\r\n"
        head += f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n"
        self.wfile.write(head.encode() + payload)

    def _send(
        self, status: int, payload: bytes, headers: dict[str, str] | None = None, *, truncate: bool = False
    ) -> None:
        """Send a whole body; `truncate` sends half of it and cuts the connection."""
        self._send_head(status, (headers or {}) | {"content-length": str(len(payload))})
        self.wfile.write(payload[: len(payload) // 2] if truncate else payload)
        if truncate:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def _send_head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in ({"content-type": "application/json"} | headers).items():
            self.send_header(name, value)
        self.end_headers()


def rendered_prompt(messages: list[Any], tools: Any = None) -> str:
    """The scripted chat template: a `<|role|> text` line per message (tool calls as their JSON), the
    tools' JSON first, and `<|assistant|>` last (the generation prompt)."""
    lines = [f"<|tools|> {json.dumps(tools)}"] if tools else []
    for message in messages:
        if not isinstance(message, dict):
            continue
        calls = message.get("tool_calls")
        text = _message_text(message) + (f" {json.dumps(calls)}" if calls else "")
        lines.append(f"<|{message.get('role')}|> {text}")
    lines.append("<|assistant|>")
    return "\n".join(lines)


def _vector(text: str, dims: int) -> list[float]:
    """Deterministic, not unit length: the text's SHA-256 bytes (repeated) as floats in [-3, 3)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i % 32] - 128) / 128 * 3 for i in range(dims)]


def _model_entry(model: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(model, dict):
        return model
    return {"id": model, "object": "model", "created": 0, "owned_by": "scripted"}


def _error(message: str, kind: str, code: int | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class ScriptedUpstream:
    """A scripted OpenAI chat completions server; see the module docstring."""

    def __init__(self, models: tuple[str | dict[str, Any], ...] = ("scripted-model",)) -> None:
        self.models = models
        self.models_status = 200
        self.models_delay_s = 0.0
        self.model_requests: list[ReceivedRequest] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self.embedding_headers: list[dict[str, str]] = []
        self.embedding_dimensions = 8
        self.embedding_faults: deque[int | float | Literal["missing", "wrong_dimensions"]] = deque()
        self.tokenizer: Literal["none", "vllm", "llamacpp"] = "none"
        self.context_window = 4096
        self.tokenize_requests: list[tuple[str, dict[str, Any]]] = []
        self.received: list[ReceivedRequest] = []
        self._scripts: deque[Script] = deque()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/v1`."""
        if self._server is None:
            raise RuntimeError("ScriptedUpstream is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every chat completions JSON body received, oldest first."""
        with self._lock:
            return [r.body for r in self.received if r.body is not None]

    def reset(self) -> None:
        """Forget received requests and queued scripts, and let `GET /v1/models` answer again at once
        (between tests sharing one upstream)."""
        with self._lock:
            self.received.clear()
            self._scripts.clear()
            self.model_requests.clear()
            self.models_status, self.models_delay_s = 200, 0.0
            self.embedding_requests.clear()
            self.embedding_headers.clear()
            self.embedding_faults.clear()
            self.tokenize_requests.clear()
            self.tokenizer, self.context_window = "none", 4096

    def enqueue(self, *scripts: Script) -> None:
        """Queue what the next chat requests answer, in order."""
        with self._lock:
            self._scripts.extend(scripts)

    def start(self) -> ScriptedUpstream:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="scripted-upstream",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> ScriptedUpstream:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _receive_models(self, handler: _Handler) -> tuple[ReceivedRequest, int, float]:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        record = ReceivedRequest(handler.command, handler.path, headers, None)
        with self._lock:
            self.model_requests.append(record)
            return record, self.models_status, self.models_delay_s

    def _receive_embeddings(
        self, body: dict[str, Any], headers: Iterable[tuple[str, str]]
    ) -> int | float | str | None:
        with self._lock:
            self.embedding_requests.append(body)
            self.embedding_headers.append({k.lower(): v for k, v in headers})
            return self.embedding_faults.popleft() if self.embedding_faults else None

    def _receive(
        self, handler: _Handler, body: dict[str, Any], raw: bytes = b""
    ) -> tuple[ReceivedRequest, Script, int]:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        record = ReceivedRequest(handler.command, handler.path, headers, body, raw=raw)
        with self._lock:
            self.received.append(record)
            script = self._scripts.popleft() if self._scripts else _echo(body)
            return record, script, len(self.received)


def _echo(body: dict[str, Any]) -> Script:
    users = [m for m in body.get("messages", []) if isinstance(m, dict) and m.get("role") == "user"]
    return Script(text=f"You said: {_message_text(users[-1]) if users else ''}")


class UnansweredPort:
    """A port on 127.0.0.1 where a TCP connect hangs: a listener whose accept backlog is full and never
    drained, so the kernel drops further SYNs (Linux with `tcp_abort_on_overflow` = 0, the default).

        with UnansweredPort() as port:
            ...  # connecting to 127.0.0.1:port neither succeeds nor fails until the client gives up
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._fillers: list[socket.socket] = []

    def __enter__(self) -> int:
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        port: int = self._listener.getsockname()[1]
        for _ in range(2):  # a backlog of 0 still queues one connection (two on some kernels)
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            self._fillers.append(filler)
        return port

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sock in (*self._fillers, self._listener):
            sock.close()
