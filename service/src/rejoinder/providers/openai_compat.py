"""The generic adapter: any OpenAI-compatible chat completions upstream (vLLM, Ollama, llama.cpp, OpenAI).

This is the only module of the service that imports aiohttp. Every aiohttp and JSON failure leaves it as
an `UpstreamError`; the JSON shapes themselves live in `chat_wire`. Per-server adapters (`vllm`,
`ollama`, `llamacpp`, `openai`) are thin subclasses: they declare their `Capabilities` and may override
two hooks, `_body` (the request body their server expects) and `_delta_filter` (a per-response
post-processor of the normalized deltas).

The transport is one `aiohttp.ClientSession` per provider (HTTP/1.1 keep-alive pool), made on first use
inside the running loop: aiohttp's C parser and no anyio layer cost a fraction of httpx's CPU per
request. It follows no redirects, keeps no cookies, and reads the proxy environment variables once.
Its connect timeout is aiohttp's; the first-token and idle timeouts are kept by one `Watchdog` per
response (`timeouts`), never by a timer per read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import orjson
from aiohttp.abc import AbstractStreamWriter

from rejoinder.pacing import Steps, run_paced
from rejoinder.providers.base import Capabilities, ChatDelta, ChatRequest, UpstreamError, UpstreamModel
from rejoinder.providers.catalog import decode_model_list
from rejoinder.providers.chat_wire import (
    JsonObject,
    StreamDecoder,
    WireError,
    build_body,
    decode_completion,
    encode_steps,
)
from rejoinder.providers.sse_framer import SseFramer
from rejoinder.providers.timeouts import UpstreamTimeouts, Watchdog, connect_timeout, first_token_timeout

_MAX_CONNECTIONS = 0  # no cap: every open stream holds one upstream connection; the upstream queues
_KEEPALIVE_S = 30.0
_ERROR_TEXT_LIMIT = 200


@dataclass(frozen=True)
class UpstreamConfig:
    """Where an upstream is, how long to wait for it, and what it can do."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    timeouts: UpstreamTimeouts = field(default_factory=UpstreamTimeouts)
    capabilities: Capabilities = field(default_factory=Capabilities)


class DeltaFilter(Protocol):
    """Post-processes the normalized deltas of one response (e.g. splits inline think tags)."""

    def feed(self, delta: ChatDelta) -> list[ChatDelta]:
        """What to yield for `delta`, in order; may hold text back."""
        ...

    def close(self) -> list[ChatDelta]:
        """What is still held back when the response ends."""
        ...


class PassThrough:
    """The identity `DeltaFilter`."""

    def feed(self, delta: ChatDelta) -> list[ChatDelta]:
        """`delta` itself."""
        return [delta]

    def close(self) -> list[ChatDelta]:
        """Nothing: nothing is held back."""
        return []


class OpenAICompatProvider:
    """A `Provider` for any server that speaks OpenAI chat completions."""

    def __init__(
        self,
        config: UpstreamConfig,
        session: aiohttp.ClientSession | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        """`trace_configs`: aiohttp's request hooks for the pool it makes (tracing: a span per request)."""
        self._config = config
        self._trace_configs = list(trace_configs)
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._models_url = config.base_url.rstrip("/") + "/models"
        self._owns_session = session is None
        self._session = session
        self._closed = False
        self._headers = {stream: _headers(config.api_key, stream=stream) for stream in (False, True)}
        self._proxy: str | None = None
        connect = config.timeouts.connect  # the read bounds are the watchdog's (see `stream`)
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect)

    @property
    def capabilities(self) -> Capabilities:
        """What this upstream can do, as configured."""
        return self._config.capabilities

    async def aclose(self) -> None:
        """Close the connection pool, unless the session was injected (its owner closes it)."""
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def models(self) -> list[UpstreamModel]:
        """`GET {base_url}/models` with the API key; raises only `UpstreamError`. Only the connect is
        bounded here (by its timeout): the caller bounds the whole fetch."""
        session = self._new_session() if self._session is None else self._session
        with _translate_errors():
            async with session.get(
                self._models_url,
                headers=self._headers[False],
                allow_redirects=False,
                proxy=self._proxy,
                timeout=self._timeout,
            ) as resp:
                await _check_status(resp)
                raw = await resp.read()
        return decode_model_list(raw)

    async def stream(self, req: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        """Run one chat completion and yield its deltas; raises only `UpstreamError`.

        Closing this generator early closes the upstream response (and so its connection). The
        first-token and idle timeouts are the watchdog's: it fails the pending read and closes `resp`.
        """
        content = await run_paced(self._encode(req))
        post = self._delta_filter()
        watchdog = Watchdog(self._config.timeouts)
        resp = await self._send(content, req.stream, watchdog)
        try:
            watchdog.watch(_aborter(resp))
            with _translate_errors():
                await _check_status(resp)
                if req.stream and not _is_json(resp):
                    async with contextlib.aclosing(self._sse_deltas(resp, watchdog)) as deltas:
                        async for delta in deltas:
                            for out in post.feed(delta):
                                if watchdog.waiting_first:
                                    watchdog.first_delta()
                                yield out
                else:
                    deltas_of_body = await self._json_deltas(resp)
                    watchdog.cancel()
                    for delta in deltas_of_body:
                        for out in post.feed(delta):
                            yield out
        finally:
            watchdog.cancel()
            # A response read to its end has already gone back to the pool; anything else (an error,
            # the consumer gone, [DONE] before the end of the body) closes its connection now.
            resp.close()
        for out in post.close():
            yield out

    async def _send(self, content: list[bytes], stream: bool, watchdog: Watchdog) -> aiohttp.ClientResponse:
        """POST `content`; the response once its head has arrived, whatever its status, within the
        first-token deadline."""
        session = self._new_session() if self._session is None else self._session
        with _translate_errors():
            try:
                async with asyncio.timeout_at(watchdog.first_token_deadline) as head:
                    return await session.post(
                        self._url,
                        data=content[0] if len(content) == 1 else _Pieces(content),
                        headers=self._headers[stream],
                        allow_redirects=False,
                        proxy=self._proxy,
                        timeout=self._timeout,
                    )
            except aiohttp.ConnectionTimeoutError as exc:
                raise connect_timeout(self._config.timeouts) from exc
            except TimeoutError:
                if head.expired():
                    raise first_token_timeout(self._config.timeouts) from None
                raise
            except aiohttp.ClientError:
                raise
            except ValueError as exc:  # a header aiohttp will not write (say, an API key with a newline)
                raise UpstreamError("protocol", f"cannot send the upstream request: {exc}") from exc

    def _body(self, req: ChatRequest) -> JsonObject:
        """The request body (without `stream`). The generic one leaves out the controls that the
        capabilities say the upstream does not honor; adapters adjust it to their server's dialect."""
        return honored(build_body(req, self.capabilities), self.capabilities)

    def _delta_filter(self) -> DeltaFilter:
        """A fresh post-processor for one response's deltas; the generic adapter passes them through."""
        return PassThrough()

    def _encode(self, req: ChatRequest) -> Steps[list[bytes]]:
        """The request's bytes, in steps (see `chat_wire.encode_steps`)."""
        return encode_steps(self._body(replace(req, messages=())), req, self.capabilities)

    def _new_session(self) -> aiohttp.ClientSession:
        """The pool, made on first use (aiohttp binds it to the running loop), and the proxy that the
        environment names for the upstream (`HTTPS_PROXY`, `NO_PROXY`, ...), read once."""
        if self._closed:
            raise RuntimeError("the provider is closed")
        self._proxy = _env_proxy(self._url)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=_MAX_CONNECTIONS, keepalive_timeout=_KEEPALIVE_S),
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            trace_configs=self._trace_configs or None,
        )
        return self._session

    async def _sse_deltas(
        self, resp: aiohttp.ClientResponse, watchdog: Watchdog
    ) -> AsyncGenerator[ChatDelta, None]:
        decoder = StreamDecoder(self.capabilities)
        framer = SseFramer()
        body = resp.content
        clock = watchdog.clock
        first = True
        while True:
            watchdog.reading_since = clock()  # the idle clock runs only while a read waits
            chunk = await (_read_one_chunk(body) if first else body.readany())
            watchdog.reading_since = None
            if not chunk:
                break
            for data in framer.feed(chunk):
                if data == b"[DONE]":
                    for delta in decoder.close():
                        yield delta
                    return
                for delta in decoder.feed(_event_json(data)):
                    first = False
                    yield delta
        if decoder.finish is None:
            raise UpstreamError("protocol", "upstream stream ended before a finish_reason or [DONE]")
        for delta in decoder.close():
            yield delta

    async def _json_deltas(self, resp: aiohttp.ClientResponse) -> list[ChatDelta]:
        body = _json_object(await resp.read())
        try:
            return decode_completion(body, self.capabilities)
        except WireError as exc:
            raise UpstreamError("protocol", f"malformed upstream completion: {exc}") from exc


async def _read_one_chunk(body: aiohttp.StreamReader) -> bytes:
    """The next HTTP chunk (upstreams send one SSE event per chunk), or b"" at the end. Until the
    first delta is out the stream is read this way: `readany()` first takes every chunk already
    buffered, at ~1 us each in aiohttp, before the first event is seen (bench: +0.3 ms to the first
    delta of a 512-token burst). After it, `readany()` costs less per event."""
    while True:
        chunk, boundary = await body.readchunk()
        if chunk or not boundary:  # (b"", True) is an empty chunk boundary, not the end
            return chunk


def _aborter(resp: aiohttp.ClientResponse) -> Callable[[UpstreamError], None]:
    """What the watchdog calls at a deadline: the pending read raises `error`, the connection closes."""

    def abort(error: UpstreamError) -> None:
        resp.content.set_exception(error)
        resp.close()

    return abort


def honored(body: JsonObject, caps: Capabilities) -> JsonObject:
    """`body` without the controls `caps` says the upstream does not honor, so that a strict server
    never sees them (core reads the same capabilities to decide what to tell the client)."""
    dropped: set[str] = set()
    if not caps.logprobs:
        dropped |= {"logprobs", "top_logprobs"}
    if not caps.response_format:
        dropped.add("response_format")
    if not caps.parallel_tool_calls:
        dropped.add("parallel_tool_calls")
    if not caps.tool_choice_forcing and body.get("tool_choice") not in (None, "auto", "none"):
        dropped.add("tool_choice")
    return {k: v for k, v in body.items() if k not in dropped}


class _Pieces(aiohttp.Payload):
    """A request body sent piece by piece, so that a big one is not joined into one more copy (a join of
    32 MiB holds the event loop for tens of milliseconds)."""

    def __init__(self, pieces: list[bytes]) -> None:
        super().__init__(pieces, content_type="application/json")
        self._pieces = pieces
        self._size = sum(len(piece) for piece in pieces)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._pieces).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        for piece in self._pieces:
            await writer.write(piece)  # waits while the socket's buffer is full


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn aiohttp failures into `UpstreamError`s."""
    try:
        yield
    except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors
        raise UpstreamError("timeout", f"upstream timed out: {type(exc).__name__}") from exc
    except (aiohttp.ClientConnectorError, aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise UpstreamError("connect", f"cannot reach upstream: {exc}") from exc
    except (aiohttp.ClientError, OSError) as exc:  # aiohttp wraps socket errors; OSError is a backstop
        raise UpstreamError("protocol", f"upstream connection failed: {type(exc).__name__}: {exc}") from exc


def _env_proxy(url: str) -> str | None:
    """The proxy that `HTTP_PROXY`, `HTTPS_PROXY` or `ALL_PROXY` name for `url`, unless `NO_PROXY`
    exempts its host (credentials in the proxy URL authenticate to it)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # the request reports the URL
        return None
    if host and proxy_bypass(host):
        return None
    proxies = getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def _headers(api_key: str | None, *, stream: bool) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    headers["accept"] = "text/event-stream" if stream else "application/json"
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def _is_json(resp: aiohttp.ClientResponse) -> bool:
    content_type: str = resp.headers.get("content-type", "")
    return content_type.startswith("application/json")


async def _check_status(resp: aiohttp.ClientResponse) -> None:
    if 200 <= resp.status < 300:
        return
    raw = await resp.read()
    raise UpstreamError(
        "status",
        _error_message(raw) or f"upstream answered HTTP {resp.status}",
        status=resp.status,
        retry_after=resp.headers.get("retry-after"),
    )


def _error_message(raw: bytes) -> str | None:
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


def _json_object(raw: bytes | str) -> Mapping[str, object]:
    try:
        parsed: object = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("protocol", f"upstream sent malformed JSON: {exc}") from exc
    return _chat_object(parsed)


def _event_json(data: bytes) -> Mapping[str, object]:
    """The object of one SSE event. The stream is text: bytes that are not UTF-8 are read as U+FFFD."""
    try:
        parsed: object = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _json_object(data.decode("utf-8", "replace"))
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
    message = _error_message(orjson.dumps(body)) or "upstream reported an error"
    return UpstreamError("status", message, status=status)
