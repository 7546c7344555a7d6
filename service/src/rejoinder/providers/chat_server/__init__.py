"""Any `Provider` served as an OpenAI-compatible chat completions endpoint, for the generic adapter.

With `rejoinder serve --workers N` the in-process local model runs in one worker only; that worker
serves it here, on loopback and behind a random bearer token, and the other workers reach it through
`OpenAICompatProvider`. So this is the inverse of that adapter: `decode` reads what `chat_wire`
encodes and `encode` writes what it decodes, and the errors keep what it reads back:

- a bad body is a 400 and a missing or wrong token a 401, both in OpenAI's error shape;
- an `UpstreamError` before the first delta is an answer with its status (or 502, 504 for a timeout)
  and its `Retry-After`, which the adapter turns into an `UpstreamError` with both again;
- an error after the first frame is an in-band error frame with the status as `code` and no `[DONE]`,
  which the adapter raises as an `UpstreamError` with that status.

The status is only known once the provider has answered, so the head of the answer is sent with the
first delta. A client that goes away cancels the handler (aiohttp's `handler_cancellation`), which
closes the provider's stream: the local model stops before its next token. The server binds only
the host and port it is given, and compares the token in constant time; closing it leaves the
provider open (its owner closes it).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

import orjson
from aiohttp import web

from rejoinder.config_limits import MIB
from rejoinder.errors import ApiError
from rejoinder.pacing import run_paced
from rejoinder.providers.base import ChatDelta, Provider, UpstreamError
from rejoinder.providers.chat_server.decode import decode_steps
from rejoinder.providers.chat_server.encode import (
    ChunkWriter,
    CompletionFolder,
    CompletionHead,
    error_frame,
    error_object,
    error_type_of,
    model_list,
)
from rejoinder.wire.json_body import parse_object

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * MIB  # twice the REST body limit: a request's chat body is about as big
SHUTDOWN_GRACE_S = 5.0
_KIND_STATUS = {"timeout": 504, "connect": 502, "protocol": 502, "status": 502}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def _error(status: int, message: str, *, code: str | None = None, param: str | None = None) -> web.Response:
    return _json(status, orjson.dumps(error_object(message, error_type_of(status), code, param)))


def upstream_status(exc: UpstreamError) -> int:
    """The HTTP status that reports `exc`: its own, else 504 for a timeout and 502 for the rest."""
    if exc.status is not None and 400 <= exc.status <= 599:
        return exc.status
    return _KIND_STATUS[exc.kind]


def _upstream_error(exc: UpstreamError) -> web.Response:
    response = _error(upstream_status(exc), exc.message)
    if exc.retry_after:
        response.headers["retry-after"] = exc.retry_after
    return response


@contextlib.asynccontextmanager
async def _closing(deltas: AsyncIterator[ChatDelta]) -> AsyncGenerator[AsyncIterator[ChatDelta], None]:
    """`deltas`, closed on the way out (a generator stops at once, not when it is collected)."""
    try:
        yield deltas
    finally:
        if isinstance(deltas, AsyncGenerator):
            await deltas.aclose()


async def _first(deltas: AsyncIterator[ChatDelta]) -> ChatDelta | None:
    """The first delta, or None for an empty answer; an `UpstreamError` surfaces here, before any byte."""
    try:
        return await anext(deltas)
    except StopAsyncIteration:
        return None


class _Endpoints:
    """The routes, the token check and the error answers."""

    def __init__(self, provider: Provider, token: str) -> None:
        self._provider = provider
        self._expected = token.encode("utf-8", "surrogateescape")

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        given = presented.strip().encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._expected) and scheme.lower() == "bearer"

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The token first; then every failure before the answer started, as OpenAI's error."""
        if not self._authorized(request):
            response = _error(401, "Incorrect API key provided.", code="invalid_api_key")
            response.headers["www-authenticate"] = "Bearer"
            return response
        try:
            return await handler(request)
        except ApiError as exc:
            return _error(400, exc.message, code=exc.code, param=exc.param)
        except UpstreamError as exc:
            return _upstream_error(exc)
        except web.HTTPException as exc:  # no such route, method, a body over the limit
            return _error(exc.status, exc.text or exc.reason)
        except Exception:
            log.exception("chat server: the request failed")
            return _error(500, "The server had an error while processing your request.")

    async def models(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/models`: the provider's models in OpenAI's list shape."""
        return _json(200, model_list(await self._provider.models()))

    async def completions(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/chat/completions`, streamed or not as the body says."""
        body = await parse_object(await request.read())
        incoming = await run_paced(decode_steps(body))
        head = CompletionHead(f"chatcmpl-{secrets.token_hex(12)}", int(time.time()), incoming.request.model)
        async with _closing(self._provider.stream(incoming.request)) as deltas:
            first = await _first(deltas)
            if incoming.request.stream:
                return await _stream(request, ChunkWriter(head, incoming.include_usage), first, deltas)
            return await _complete(head, first, deltas)


async def _complete(
    head: CompletionHead, first: ChatDelta | None, deltas: AsyncIterator[ChatDelta]
) -> web.Response:
    """One `chat.completion`; an `UpstreamError` on the way is still an error answer (nothing is sent)."""
    folder = CompletionFolder()
    if first is not None:
        folder.feed(first)
    async for delta in deltas:
        folder.feed(delta)
    return _json(200, folder.body(head, _new_call_id))


def _new_call_id() -> str:
    return f"call_{secrets.token_hex(12)}"


async def _stream(
    request: web.Request, chunks: ChunkWriter, first: ChatDelta | None, deltas: AsyncIterator[ChatDelta]
) -> web.StreamResponse:
    """SSE frames as the deltas come; a failure after the head is an error frame without `[DONE]`."""
    response = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
    await response.prepare(request)
    try:
        if first is not None and (out := chunks.feed(first)):
            await response.write(out)
        async for delta in deltas:
            if out := chunks.feed(delta):
                await response.write(out)
        ending = chunks.end()
    except UpstreamError as exc:
        ending = error_frame(upstream_status(exc), exc.message)
    except ConnectionResetError:  # the client is gone; `_closing` stops the provider
        return response
    except Exception:
        log.exception("chat server: the answer failed while streaming")
        ending = error_frame(500, "The server had an error while processing your request.")
    with contextlib.suppress(ConnectionResetError):
        await response.write(ending)
        await response.write_eof()
    return response


class ChatServer:
    """A running chat completions endpoint; see the module docstring."""

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        self._runner = runner
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        """What the generic adapter takes as `base_url`: `http://host:port/v1`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    async def close(self) -> None:
        """Stop listening; answers in flight get the shutdown grace to finish, then are cut."""
        await self._runner.cleanup()


async def start_chat_server(
    provider: Provider,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str,
    max_body_bytes: int = MAX_BODY_BYTES,
    shutdown_grace_s: float = SHUTDOWN_GRACE_S,
) -> ChatServer:
    """Serve `provider` on `host:port` (0: a free port) to clients that send `Authorization: Bearer
    <token>`. On `close()`, answers in flight get `shutdown_grace_s` to finish before they are cut (and
    their provider streams closed). Raises `ValueError` for an empty token, `OSError` when the address
    cannot be bound."""
    if not token:
        raise ValueError("the chat server needs a token")
    endpoints = _Endpoints(provider, token)
    app = web.Application(middlewares=[endpoints.guard], client_max_size=max_body_bytes)
    app.router.add_post("/v1/chat/completions", endpoints.completions)
    app.router.add_get("/v1/models", endpoints.models)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=shutdown_grace_s)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return ChatServer(runner, host, bound_port)
