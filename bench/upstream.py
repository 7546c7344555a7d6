"""A lean chat completions upstream for the benchmark: one asyncio `Protocol`, HTTP/1.1 keep-alive.

    python -m bench.upstream --port 8123        # prints "ready <port>" once it listens

It answers `POST /v1/chat/completions` (also `/chat/completions`), streamed (chunked SSE) or not
(`GET /stats` says how many requests and connections it has seen), and
the *model name* scripts the answer, so the same upstream serves every scenario with no control API:

    bench-<tokens>-<delay_ms>   e.g. bench-64-0: 64 tokens at once; bench-100-10000: the first token
                                at once, then one token every 10 s (for idle open streams)

Any other model name answers 16 tokens at once. Streams are OpenAI-shaped: a role chunk
(`content: ""`), one chunk per token, a chunk with `finish_reason: "stop"`, then (when the request
asked with `stream_options.include_usage`) a usage chunk with `choices: []`, then `data: [DONE]`.
Answers without a delay are rendered once per (model, stream, usage) and cached as bytes, so a
request costs one `orjson.loads` and one `transport.write`: the upstream is never the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import orjson

TOKEN = " tok"
CREATED = 1_700_000_000
DEFAULT_TOKENS = 16
_MAX_CACHE = 256
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nnot found"
_BAD = (
    b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n"
    b"connection: close\r\n\r\nbad"
)
_OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


@dataclass(frozen=True)
class Script:
    """What one model name asks for."""

    tokens: int
    delay_s: float


def parse_model(model: str) -> Script:
    """`bench-<tokens>-<delay_ms>` -> Script; anything else is 16 tokens, no delay."""
    parts = model.split("-")
    if len(parts) == 3 and parts[0] == "bench" and parts[1].isdigit() and parts[2].isdigit():
        return Script(tokens=int(parts[1]), delay_s=int(parts[2]) / 1000)
    return Script(tokens=DEFAULT_TOKENS, delay_s=0.0)


def _usage(tokens: int) -> dict[str, object]:
    return {
        "prompt_tokens": 8,
        "completion_tokens": tokens,
        "total_tokens": 8 + tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def completion_body(model: str, tokens: int) -> bytes:
    """One non-streamed `chat.completion`."""
    message = {"role": "assistant", "content": TOKEN * tokens}
    return orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
            "usage": _usage(tokens),
        }
    )


def _chunk(model: str, delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def http_chunk(payload: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(payload), payload)


def sse(obj: object) -> bytes:
    """One `data:` event as a chunk."""
    return http_chunk(b"data: " + orjson.dumps(obj) + b"\n\n")


def stream_parts(model: str, tokens: int, usage: bool) -> tuple[bytes, bytes, bytes]:
    """(head + role chunk, one token chunk, finish [+ usage] + [DONE] + last chunk)."""
    head = _STREAM_HEAD + sse(_chunk(model, {"role": "assistant", "content": ""}))
    token = sse(_chunk(model, {"content": TOKEN}))
    tail = sse(_chunk(model, {}, "stop"))
    if usage:
        tail += sse({**_chunk(model, {}), "choices": [], "usage": _usage(tokens)})
    tail += http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"
    return head, token, tail


def _json_reply(body: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body)
    return head + body


class Replies:
    """Rendered answers, cached by (model, stream, usage)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bool, bool], bytes] = {}
        self.served = 0
        self.connections = 0
        self.open = 0

    def stats(self) -> bytes:
        """`GET /stats`: requests answered, connections accepted so far, connections open now."""
        counts = {"requests": self.served, "connections": self.connections, "open": self.open}
        return _json_reply(orjson.dumps(counts))

    def whole(self, model: str, stream: bool, usage: bool) -> bytes:
        """The complete reply bytes (no per-token delay)."""
        key = (model, stream, usage)
        reply = self._cache.get(key)
        if reply is None:
            tokens = parse_model(model).tokens
            if stream:
                head, token, tail = stream_parts(model, tokens, usage)
                reply = head + token * tokens + tail
            else:
                reply = _json_reply(completion_body(model, tokens))
            if len(self._cache) < _MAX_CACHE:
                self._cache[key] = reply
        return reply


class _Connection(asyncio.Protocol):
    """One client connection; requests are answered in order (pipelining is queued)."""

    def __init__(self, replies: Replies) -> None:
        self._replies = replies
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None
        self._slow: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self._replies.connections += 1
        self._replies.open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._replies.open -= 1
        if self._slow is not None:
            self._slow.cancel()

    def data_received(self, data: bytes) -> None:
        self._buf += data
        self._drain()

    def _drain(self) -> None:
        while self._slow is None and self._transport is not None:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buf[:end]).lower()
            length = _content_length(head)
            if length < 0:
                self._transport.write(_BAD)
                self._transport.close()
                return
            if len(self._buf) < end + 4 + length:
                return
            body = bytes(self._buf[end + 4 : end + 4 + length])
            del self._buf[: end + 4 + length]
            self._answer(head, body)
            if b"\r\nconnection: close" in head and self._transport is not None:
                self._transport.close()

    def _answer(self, head: bytes, body: bytes) -> None:
        assert self._transport is not None
        line = head.split(b"\r\n", 1)[0]
        if line.startswith(b"get /health"):
            self._transport.write(_OK)
            return
        if line.startswith(b"get /stats"):
            self._transport.write(self._replies.stats())
            return
        if not line.startswith(b"post ") or b"/chat/completions" not in line:
            self._transport.write(_NOT_FOUND)
            return
        try:
            req = orjson.loads(body)
            model = str(req.get("model", ""))
            stream = bool(req.get("stream"))
            usage = bool((req.get("stream_options") or {}).get("include_usage"))
        except (orjson.JSONDecodeError, AttributeError):
            self._transport.write(_BAD)
            self._transport.close()
            return
        self._replies.served += 1
        script = parse_model(model)
        if stream and script.delay_s > 0 and script.tokens > 1:
            self._slow = asyncio.get_running_loop().create_task(self._paced(model, script, usage))
            return
        self._transport.write(self._replies.whole(model, stream, usage))

    async def _paced(self, model: str, script: Script, usage: bool) -> None:
        head, token, tail = stream_parts(model, script.tokens, usage)
        with contextlib.suppress(asyncio.CancelledError):
            self._write(head + token)
            for _ in range(script.tokens - 1):
                await asyncio.sleep(script.delay_s)
                self._write(token)
            self._write(tail)
        self._slow = None
        if self._transport is not None:
            self._drain()

    def _write(self, data: bytes) -> None:
        if self._transport is None:
            raise asyncio.CancelledError
        self._transport.write(data)


def _content_length(head: bytes) -> int:
    """The Content-Length of a lower-cased request head (0 when absent, -1 when unusable)."""
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        return -1 if b"\r\ntransfer-encoding:" in head else 0
    end = head.find(b"\r\n", at + 2)
    raw = head[at + 17 : end if end >= 0 else len(head)].strip()
    return int(raw) if raw.isdigit() else -1


async def serve(host: str, port: int) -> None:
    """Listen until SIGTERM/SIGINT; print `ready <port>` once listening."""
    loop = asyncio.get_running_loop()
    replies = Replies()
    server = await loop.create_server(lambda: _Connection(replies), host, port, backlog=4096)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(f"ready {bound}", flush=True)
    async with server:
        await stop.wait()
    print(f"served {replies.served}", flush=True)


def new_loop_factory(kind: str) -> type[asyncio.AbstractEventLoop] | None:
    """The loop class to run on: uvloop's when asked ("uvloop") or available ("auto")."""
    if kind == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if kind == "uvloop":
            raise
        return None
    return uvloop.Loop


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bench.upstream`."""
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the bench upstream listens on loopback only")
    factory = new_loop_factory(args.loop)
    if factory is None:
        asyncio.run(serve(args.host, args.port))
    else:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
