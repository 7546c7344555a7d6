"""The generic adapter: any OpenAI-compatible chat completions upstream (vLLM, Ollama, llama.cpp, OpenAI).

This is the only module of the service that imports httpx. Every httpx and JSON failure leaves it as an
`UpstreamError`; the JSON shapes themselves live in `chat_wire`. Per-server adapters (`vllm`, `ollama`,
`llamacpp`, `openai`) are thin subclasses: they declare their `Capabilities` and may override two hooks,
`_body` (the request body their server expects) and `_delta_filter` (a per-response post-processor of
the normalized deltas).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import orjson

from rejoinder.providers.base import Capabilities, ChatDelta, ChatRequest, UpstreamError
from rejoinder.providers.chat_wire import (
    JsonObject,
    StreamDecoder,
    WireError,
    build_body,
    decode_completion,
)

_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
_ERROR_TEXT_LIMIT = 200


@dataclass(frozen=True)
class UpstreamConfig:
    """Where an upstream is and how long to wait for it. `timeout` bounds connect and each read."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
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

    def __init__(self, config: UpstreamConfig, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout), limits=_LIMITS, http1=True, http2=False
        )

    @property
    def capabilities(self) -> Capabilities:
        """What this upstream can do, as configured."""
        return self._config.capabilities

    async def aclose(self) -> None:
        """Close the connection pool, unless the client was injected (its owner closes it)."""
        if self._owns_client:
            await self._client.aclose()

    async def stream(self, req: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        """Run one chat completion and yield its deltas; raises only `UpstreamError`.

        Closing this generator early closes the upstream response (and so its connection).
        """
        content, headers = self._encode(req)
        post = self._delta_filter()
        with _translate_errors():
            async with self._client.stream("POST", self._url, content=content, headers=headers) as resp:
                await _check_status(resp)
                if req.stream and not _is_json(resp):
                    async with contextlib.aclosing(self._sse_deltas(resp)) as deltas:
                        async for delta in deltas:
                            for out in post.feed(delta):
                                yield out
                else:
                    for delta in await self._json_deltas(resp):
                        for out in post.feed(delta):
                            yield out
        for out in post.close():
            yield out

    def _body(self, req: ChatRequest) -> JsonObject:
        """The request body (without `stream`). The generic one leaves out the controls that the
        capabilities say the upstream does not honor; adapters adjust it to their server's dialect."""
        return honored(build_body(req, self.capabilities), self.capabilities)

    def _delta_filter(self) -> DeltaFilter:
        """A fresh post-processor for one response's deltas; the generic adapter passes them through."""
        return PassThrough()

    def _encode(self, req: ChatRequest) -> tuple[bytes, dict[str, str]]:
        body = self._body(req)
        headers = {"content-type": "application/json", "accept": "application/json"}
        if req.stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
            headers["accept"] = "text/event-stream"
        if self._config.api_key:
            headers["authorization"] = f"Bearer {self._config.api_key}"
        try:
            return orjson.dumps(body), headers
        except orjson.JSONEncodeError as exc:
            raise UpstreamError("protocol", f"request is not JSON-serializable: {exc}") from exc

    async def _sse_deltas(self, resp: httpx.Response) -> AsyncGenerator[ChatDelta, None]:
        decoder = StreamDecoder(self.capabilities)
        framer = _SseFramer()
        done = False
        async for line in resp.aiter_lines():
            data = framer.feed(line)
            if data == "[DONE]":
                done = True
                break
            if data is not None:
                for delta in decoder.feed(_json_object(data)):
                    yield delta
        if not done and decoder.finish is None:
            raise UpstreamError("protocol", "upstream stream ended before a finish_reason or [DONE]")
        for delta in decoder.close():
            yield delta

    async def _json_deltas(self, resp: httpx.Response) -> list[ChatDelta]:
        body = _json_object(await resp.aread())
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


class _SseFramer:
    """Server-sent events framing: lines in, the `data` of each complete event out."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        """Take one line (without its newline); return the event's data when a blank line ends it."""
        if line:
            name, _, value = line.partition(":")
            if name == "data":
                self._data.append(value.removeprefix(" "))
            return None
        if not self._data:
            return None
        data = "\n".join(self._data)
        self._data.clear()
        return data


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn httpx failures into `UpstreamError`s."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamError("timeout", f"upstream timed out: {type(exc).__name__}") from exc
    except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise UpstreamError("connect", f"cannot reach upstream: {exc}") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError("protocol", f"upstream connection failed: {type(exc).__name__}: {exc}") from exc


def _is_json(resp: httpx.Response) -> bool:
    content_type: str = resp.headers.get("content-type", "")
    return content_type.startswith("application/json")


async def _check_status(resp: httpx.Response) -> None:
    if resp.is_success:
        return
    raw = await resp.aread()
    raise UpstreamError(
        "status",
        _error_message(raw) or f"upstream answered HTTP {resp.status_code}",
        status=resp.status_code,
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
