"""How a request reaches an OpenAI-compatible upstream and its answer comes back.

One `Transport` per provider keeps its keep-alive HTTP/1.1 connections, made on first use inside the
running loop. A plain `http://` upstream that no proxy stands before is reached with `http1` (a
fraction of aiohttp's CPU per call, and a burst's first chunk handed over before the rest are parsed);
TLS, a proxy the environment names (read once), tracing's request hooks or an injected session take an
`aiohttp.ClientSession` (its C parser and no anyio layer cost a third of httpx's CPU per call). Either
follows no redirects and keeps no cookies; the connect timeout is the transport's. Whatever carried
it, an answer is an `Answer`, and `translated()` turns every failure into an `UpstreamError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from aiohttp.abc import AbstractStreamWriter

from rejoinder.providers.base import UpstreamError
from rejoinder.providers.transport.http1 import ConnectError, ConnectTimeout, Http1Pool
from rejoinder.providers.transport.http1_wire import Http1Error, request_head

_MAX_CONNECTIONS = 0  # no cap: every open stream holds one upstream connection; the upstream queues
KEEPALIVE_S = 30.0


class Answer(Protocol):
    """An upstream's answer once its head has arrived, whichever transport carried it."""

    @property
    def status(self) -> int:
        """The HTTP status."""
        ...

    def header(self, name: str) -> str | None:
        """A header (`name` in lower case)."""
        ...

    async def read(self) -> bytes:
        """The whole body."""
        ...

    async def read_some(self, one_chunk: bool = False) -> bytes:
        """The next bytes of the body (with `one_chunk`, at most one HTTP chunk's); b"" at its end."""
        ...

    def abort(self, error: UpstreamError) -> None:
        """The pending read raises `error`; the connection closes."""
        ...

    def close(self) -> None:
        """Back to the pool when read to its end, else the connection closes."""
        ...


class Transport:
    """The connections to one upstream: `post` to its chat completions URL, `get` anything else."""

    def __init__(
        self,
        url: str,
        connect_s: float,
        session: aiohttp.ClientSession | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        """`url`: where `post` goes; `session`: an injected one (its owner closes it); `trace_configs`:
        aiohttp's request hooks for the session it makes (tracing: a span per request)."""
        self._url = url
        self._session = session
        self._owns_session = session is None
        self._trace_configs = list(trace_configs)
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_s, sock_connect=connect_s)
        self._connect_s = connect_s
        self._origin = _plain_origin(url) if session is None and not trace_configs else None
        self._pool: Http1Pool | None = None
        self._chosen = False  # whether the first `post` chose the pool (or aiohttp) yet
        self._proxy: str | None = None
        self._closed = False

    async def post(self, content: list[bytes], headers: dict[str, str]) -> Answer:
        """POST `content` (pieces of one body); the answer once its head has arrived. A connect timeout
        is a `ConnectTimeout`, a header that cannot be written a ValueError."""
        pool = self._pool if self._chosen else self._new_pool()
        if pool is not None:
            assert self._origin is not None
            _, host, target = self._origin
            size = sum(len(piece) for piece in content)
            return await pool.request(request_head("POST", target, host, headers, size), content)
        try:
            response = await self._aiohttp().post(
                self._url,
                data=content[0] if len(content) == 1 else _Pieces(content),
                headers=headers,
                allow_redirects=False,
                proxy=self._proxy,
                timeout=self._timeout,
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectTimeout(str(exc)) from exc
        return _AiohttpAnswer(response)

    async def post_to(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST `body` to `url`, another route of the same upstream (not a hot path: always aiohttp)."""
        response = await self._aiohttp().post(
            url, data=body, headers=headers, allow_redirects=False, proxy=self._proxy, timeout=self._timeout
        )
        return _AiohttpAnswer(response)

    async def get(self, url: str, headers: dict[str, str]) -> Answer:
        """GET `url` (not a hot path: always aiohttp)."""
        response = await self._aiohttp().get(
            url, headers=headers, allow_redirects=False, proxy=self._proxy, timeout=self._timeout
        )
        return _AiohttpAnswer(response)

    async def aclose(self) -> None:
        """Close the connections, and the session unless it was injected."""
        self._closed = True
        if self._pool is not None:
            self._pool.close()
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _new_pool(self) -> Http1Pool | None:
        """On first use: the lean pool, when the upstream is plain HTTP that no proxy stands before."""
        self._check_open()
        self._chosen = True
        if self._origin is None or _env_proxy(self._url) is not None:
            return None
        (host, port), _, _ = self._origin
        self._pool = Http1Pool(host, port, self._connect_s, KEEPALIVE_S)
        return self._pool

    def _aiohttp(self) -> aiohttp.ClientSession:
        """The session, made on first use (aiohttp binds it to the running loop), and the proxy that
        the environment names for the upstream (`HTTPS_PROXY`, `NO_PROXY`, ...), read once."""
        if self._session is not None:
            return self._session
        self._check_open()
        self._proxy = _env_proxy(self._url)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=_MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_S),
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            trace_configs=self._trace_configs or None,
        )
        return self._session

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the provider is closed")


class _AiohttpAnswer:
    """An aiohttp response as an `Answer`."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status

    def header(self, name: str) -> str | None:
        return self._response.headers.get(name)

    async def read(self) -> bytes:
        return await self._response.read()

    async def read_some(self, one_chunk: bool = False) -> bytes:
        body = self._response.content
        return await (_read_one_chunk(body) if one_chunk else body.readany())

    def abort(self, error: UpstreamError) -> None:
        self._response.content.set_exception(error)
        self._response.close()

    def close(self) -> None:
        self._response.close()


async def _read_one_chunk(body: aiohttp.StreamReader) -> bytes:
    """The next HTTP chunk (upstreams send one SSE event per chunk), or b"" at the end. Until the
    first delta is out the stream is read this way: `readany()` first takes every chunk already
    buffered, at ~1 us each in aiohttp, before the first event is seen (bench: +0.3 ms to the first
    delta of a 512-token burst). After it, `readany()` costs less per event."""
    while True:
        chunk, boundary = await body.readchunk()
        if chunk or not boundary:  # (b"", True) is an empty chunk boundary, not the end
            return chunk


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
def translated() -> Iterator[None]:
    """Turn the transports' failures into `UpstreamError`s."""
    try:
        yield
    except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors
        raise UpstreamError("timeout", f"upstream timed out: {type(exc).__name__}") from exc
    except (aiohttp.ClientConnectorError, aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
        raise UpstreamError("connect", f"cannot reach upstream: {exc}") from exc
    except ConnectError as exc:
        raise UpstreamError("connect", f"cannot reach upstream: {exc}") from exc
    except Http1Error as exc:
        raise UpstreamError("protocol", f"upstream connection failed: {exc}") from exc
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


def _plain_origin(url: str) -> tuple[tuple[str, int], str, str] | None:
    """((host, port), the Host header, the request target) of a plain `http://` URL, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme != "http" or not host or parts.username or parts.password:
        return None
    host_header = f"[{host}]" if ":" in host else host
    if port != 80:
        host_header += f":{port}"
    return (host, port), host_header, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
