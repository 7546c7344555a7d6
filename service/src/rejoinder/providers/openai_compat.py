"""The generic adapter: any OpenAI-compatible chat completions upstream (vLLM, Ollama, llama.cpp, OpenAI).

Every transport and JSON failure leaves it as an `UpstreamError`; the JSON shapes themselves live in
`chat_wire` (the request), `chat_decode` (the answer) and `upstream_json`, the connections in
`transport`. Per-server adapters (`vllm`, `ollama`, `llamacpp`, `openai`) are thin subclasses: they
declare their `Capabilities` and may override two hooks, `_body` (the request body their server expects)
and `_delta_filter` (a per-response post-processor of the normalized deltas).

The connect timeout is the transport's; the first-token and idle timeouts are kept by one `Watchdog`
per response (`timeouts`), never by a timer per read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import orjson

from rejoinder.pacing import Steps, run_paced
from rejoinder.providers.base import (
    Capabilities,
    ChatDelta,
    ChatRequest,
    TokenCount,
    UpstreamError,
    UpstreamModel,
)
from rejoinder.providers.catalog import decode_model_list
from rejoinder.providers.chat_decode import StreamDecoder, WireError, decode_completion
from rejoinder.providers.chat_wire import JsonObject, build_body, encode_steps
from rejoinder.providers.timeouts import UpstreamTimeouts, Watchdog, connect_timeout, first_token_timeout
from rejoinder.providers.token_estimate import estimate_chat_tokens
from rejoinder.providers.transport import Answer, Transport, translated
from rejoinder.providers.transport.http1 import ConnectTimeout
from rejoinder.providers.transport.sse_framer import SseFramer
from rejoinder.providers.transport.upstream_json import error_message, event_json, json_object

log = logging.getLogger(__name__)

SIDE_ROUTE_TIMEOUT_S = 10.0
"""The most a call to an upstream's other routes (tokenize, props) may take, whatever else is configured."""


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
        """`session`: an injected aiohttp session (its owner closes it); `trace_configs`: aiohttp's
        request hooks (tracing: a span per request). Either makes every call go through aiohttp."""
        self._config = config
        url = config.base_url.rstrip("/")
        self._models_url = url + "/models"
        self._root = url.removesuffix("/v1")  # where vLLM and llama.cpp serve /tokenize, /props
        self._counting_failed = False
        self._headers = {stream: _headers(config.api_key, stream=stream) for stream in (False, True)}
        connect = config.timeouts.connect  # the read bounds are the watchdog's (see `stream`)
        self._transport = Transport(url + "/chat/completions", connect, session, trace_configs)

    @property
    def capabilities(self) -> Capabilities:
        """What this upstream can do, as configured."""
        return self._config.capabilities

    async def aclose(self) -> None:
        """Close the connections (an injected session is left to its owner)."""
        await self._transport.aclose()

    async def models(self) -> list[UpstreamModel]:
        """`GET {base_url}/models` with the API key; raises only `UpstreamError`. Only the connect is
        bounded here (by its timeout): the caller bounds the whole fetch."""
        with translated():
            resp = await self._transport.get(self._models_url, self._headers[False])
            try:
                await _check_status(resp)
                raw = await resp.read()
            finally:
                resp.close()
        return decode_model_list(raw)

    async def count_tokens(self, req: ChatRequest) -> TokenCount:
        """The upstream's own count where the adapter has a tokenize route (`_upstream_count`), else
        (or when that fails: logged once per failing streak) the estimate of `token_estimate`."""
        try:
            counted = await self._upstream_count(req)
        except UpstreamError as exc:
            if not self._counting_failed:
                log.warning("upstream %s cannot count tokens (%s); estimating", self._root, exc.message)
            self._counting_failed = True
            counted = None
        else:
            if counted is not None and self._counting_failed:
                log.info("upstream %s counts tokens again", self._root)
                self._counting_failed = False
        return counted or TokenCount(estimate_chat_tokens(req), exact=False)

    async def _upstream_count(self, req: ChatRequest) -> TokenCount | None:
        """The upstream's count of `req`'s prompt; None where it has no tokenizer route (the generic
        adapter: OpenAI-compatible chat completions have none). Raises `UpstreamError`."""
        return None

    async def _side_json(self, path: str, body: JsonObject | None = None) -> Mapping[str, object]:
        """GET (no `body`) or POST `body` to `path` under the server's root, within
        `SIDE_ROUTE_TIMEOUT_S`; the JSON object it answers. Raises `UpstreamError`."""
        url = self._root + path
        with translated():
            async with asyncio.timeout(min(SIDE_ROUTE_TIMEOUT_S, self._config.timeouts.first_token)):
                if body is None:
                    resp = await self._transport.get(url, self._headers[False])
                else:
                    resp = await self._transport.post_to(url, orjson.dumps(body), self._headers[False])
                try:
                    await _check_status(resp)
                    raw = await resp.read()
                finally:
                    resp.close()
        return json_object(raw)

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
            watchdog.watch(resp.abort)
            with translated():
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

    async def _send(self, content: list[bytes], stream: bool, watchdog: Watchdog) -> Answer:
        """POST `content`; the answer once its head has arrived, whatever its status, within the
        first-token deadline."""
        with translated():
            try:
                async with asyncio.timeout_at(watchdog.first_token_deadline) as head:
                    return await self._transport.post(content, self._headers[stream])
            except ConnectTimeout as exc:
                raise connect_timeout(self._config.timeouts) from exc
            except TimeoutError:
                if head.expired():
                    raise first_token_timeout(self._config.timeouts) from None
                raise
            except aiohttp.ClientError:
                raise
            except ValueError as exc:  # a header that cannot be written (say, an API key with a newline)
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
        return encode_steps(self._body(req), req, self.capabilities)

    async def _sse_deltas(self, resp: Answer, watchdog: Watchdog) -> AsyncGenerator[ChatDelta, None]:
        decoder = StreamDecoder(self.capabilities)
        framer = SseFramer()
        clock = watchdog.clock
        first = True
        while True:
            watchdog.reading_since = clock()  # the idle clock runs only while a read waits
            chunk = await resp.read_some(first)  # one HTTP chunk at a time until the first delta
            watchdog.reading_since = None
            if not chunk:
                break
            for data in framer.feed(chunk):
                if data == b"[DONE]":
                    for delta in decoder.close():
                        yield delta
                    return
                for delta in decoder.feed(event_json(data)):
                    first = False
                    yield delta
        if decoder.finish is None:
            raise UpstreamError("protocol", "upstream stream ended before a finish_reason or [DONE]")
        for delta in decoder.close():
            yield delta

    async def _json_deltas(self, resp: Answer) -> list[ChatDelta]:
        body = json_object(await resp.read())
        try:
            return decode_completion(body, self.capabilities)
        except WireError as exc:
            raise UpstreamError("protocol", f"malformed upstream completion: {exc}") from exc


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


def _headers(api_key: str | None, *, stream: bool) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    headers["accept"] = "text/event-stream" if stream else "application/json"
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def _is_json(resp: Answer) -> bool:
    return (resp.header("content-type") or "").startswith("application/json")


async def _check_status(resp: Answer) -> None:
    if 200 <= resp.status < 300:
        return
    raw = await resp.read()
    raise UpstreamError(
        "status",
        error_message(raw) or f"upstream answered HTTP {resp.status}",
        status=resp.status,
        retry_after=resp.header("retry-after"),
    )
