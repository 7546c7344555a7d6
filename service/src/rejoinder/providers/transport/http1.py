"""A lean HTTP/1.1 client for plain-HTTP upstreams: keep-alive connections, bodies parsed as they are read.

aiohttp spends ~200 us of CPU per call here, and its parser takes in every chunk of a read before the
first is handed over (~0.5 ms for a 512-token answer that arrives in one read). This client writes the
request in one go and leaves the answer in its buffer until it is asked for. It speaks what an
OpenAI-compatible upstream needs: one request at a time per connection; bodies with `Content-Length`,
chunked, or ended by the connection; 1xx answers skipped. TLS, proxies, injected sessions and traced
requests stay with aiohttp (`transport` chooses).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import cast

from rejoinder.pacing import resumed
from rejoinder.providers.transport.http1_wire import (
    CRLF,
    HEAD_LIMIT,
    Http1Error,
    chunk_head,
    content_length,
    status_code,
)

PAUSE_BYTES, RESUME_BYTES = 256 * 1024, 64 * 1024  # unread: stop reading the socket, read again
PIECE_BYTES = 64 * 1024  # the most one read of the body hands over at once


class ConnectError(Http1Error):
    """The connection could not be opened."""


class ConnectTimeout(ConnectError):
    """... within the connect timeout."""


class _Connection(asyncio.Protocol):
    """One TCP connection: what it received and not yet consumed (`buffer` from `at`), and its state."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.at = 0
        self.ended = False  # no more bytes will come
        self.error: BaseException | None = None
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self._paused and len(self.buffer) - self.at > PAUSE_BYTES and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        if exc is not None and self.error is None:
            self.error = Http1Error(f"the upstream connection broke: {type(exc).__name__}: {exc}")
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    @property
    def usable(self) -> bool:
        """Open, unbroken, with nothing unread: it can carry another request."""
        return not self.ended and self.error is None and self.at == len(self.buffer)

    def available(self) -> int:
        return len(self.buffer) - self.at

    async def more(self) -> bool:
        """Wait until bytes arrive; False when no more will. Raises what broke the connection."""
        if self.error is not None:
            raise self.error
        if self.ended:
            return False
        before = self.available()
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        resumed()
        if self.error is not None:
            raise self.error
        return self.available() > before or not self.ended

    def take(self, count: int) -> bytes:
        """The next `count` buffered bytes (there must be as many)."""
        start = self.at
        data = bytes(memoryview(self.buffer)[start : start + count])
        self.consumed(start + count)
        return data

    def consumed(self, end: int) -> None:
        """The bytes before `end` (an index into `buffer`) are read."""
        if end == len(self.buffer):
            self.buffer.clear()
            end = 0
        elif end > RESUME_BYTES:
            del self.buffer[:end]  # a long burst is consumed from the front: compact now and then
            end = 0
        self.at = end
        if self._paused and self.available() < RESUME_BYTES and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()

    def find(self, needle: bytes) -> int:
        """Where `needle` starts in the unread bytes (relative to them), or -1."""
        found = self.buffer.find(needle, self.at)
        return found - self.at if found >= 0 else -1

    async def write(self, head: bytes, body: Sequence[bytes]) -> None:
        """The request, waiting while the socket's buffer is full (a big body is written in pieces)."""
        transport = self.transport
        assert transport is not None
        transport.write(head + body[0] if len(body) == 1 else head)
        for piece in body if len(body) > 1 else ():
            transport.write(piece)
            if self._writable is not None:
                await self._writable
        if self.error is not None:
            raise self.error

    def fail(self, error: BaseException) -> None:
        """End the connection now; the pending read (if any) raises `error`."""
        if self.error is None:
            self.error = error
        self.close()
        self._wake()

    def close(self) -> None:
        self.ended = True
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Http1Response:
    """An answer whose head was read; its body is read on demand. `close` it however it ends: a body
    read to its end gives the connection back to its pool, anything else closes it."""

    def __init__(
        self, pool: Http1Pool, connection: _Connection, status: int, headers: dict[str, str]
    ) -> None:
        self.status = status
        self._headers = headers
        self._pool: Http1Pool | None = pool
        self._connection = connection
        self._keep_alive = "close" not in headers.get("connection", "").lower()
        self._chunked = status not in (204, 304) and "chunked" in headers.get("transfer-encoding", "").lower()
        length = "0" if status in (204, 304) else headers.get("content-length")
        self._left: int | None = None  # of the body (Content-Length) or of the current chunk
        if not self._chunked and length is not None:
            self._left = content_length(length)
        elif not self._chunked:
            self._keep_alive = False  # delimited by the end of the connection
        self._done = self._left == 0
        self._crlf_due = False

    def header(self, name: str) -> str | None:
        """A header of the answer (`name` in lower case)."""
        return self._headers.get(name)

    async def read(self) -> bytes:
        """The whole body."""
        pieces = []
        while piece := await self.read_some():
            pieces.append(piece)
        return b"".join(pieces)

    async def read_some(self, one_chunk: bool = False) -> bytes:
        """The next bytes of the body, as soon as there are some (at most one HTTP chunk's with
        `one_chunk`, else what is buffered, up to `PIECE_BYTES`); b"" at its end."""
        while not self._done:
            piece = self._chunked_piece(one_chunk) if self._chunked else self._plain_piece()
            if piece:
                return piece
            if self._done:
                break
            if not await self._connection.more():
                if self._chunked or self._left is not None:
                    raise Http1Error("the upstream closed the connection before the end of the body")
                self._done = True
        return b""

    def abort(self, error: BaseException) -> None:
        """The pending read raises `error`; the connection closes."""
        self._connection.fail(error)

    def close(self) -> None:
        """Give the connection back when the body was read to its end (and may be reused), else close
        it."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._done and self._keep_alive and self._connection.usable:
            pool.release(self._connection)
        else:
            self._connection.close()

    def _plain_piece(self) -> bytes:
        connection = self._connection
        count = min(connection.available(), PIECE_BYTES)
        if self._left is not None:
            count = min(count, self._left)
            self._left -= count
            self._done = self._left == 0
        return connection.take(count) if count else b""

    def _chunked_piece(self, one_chunk: bool) -> bytes:
        """Data of the chunks that are buffered (at least part of one, else b""). One tight loop over
        the buffer: a burst of small chunks costs about what aiohttp's C parser and its reads do."""
        connection = self._connection
        buffer, at, end = connection.buffer, connection.at, len(connection.buffer)
        left, pieces, size = self._left or 0, [], 0
        while size < PIECE_BYTES:
            if self._crlf_due:  # after a chunk's data
                if end - at < 2:
                    break
                if buffer[at : at + 2] != CRLF:
                    raise Http1Error("an HTTP chunk does not end with CRLF")
                at, self._crlf_due = at + 2, False
                if one_chunk:
                    break
            elif not left:
                head = chunk_head(buffer, at)
                if head is None:
                    break
                at, left = head
                if not left:
                    self._done = True
                    break
            else:
                count = min(end - at, left)
                pieces.append(buffer[at : at + count])
                at, left, size = at + count, left - count, size + count
                if left:
                    break  # part of a chunk (or none of it yet): hand over what there is
                self._crlf_due = True
        self._left = left
        connection.consumed(at)
        return b"".join(pieces)


class Http1Pool:
    """Keep-alive connections to one `host:port`, one request at a time on each."""

    def __init__(self, host: str, port: int, connect_timeout: float, keepalive_s: float) -> None:
        self._host = host
        self._port = port
        self._connect_timeout = connect_timeout
        self._keepalive_s = keepalive_s
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(self, head: bytes, body: Sequence[bytes]) -> Http1Response:
        """Send `head` (`request_head`'s) and `body` (1+ pieces); the answer once its head arrived."""
        connection = self._reused() or await self._connect()
        try:
            await connection.write(head, body)
            status, headers = await _read_head(connection)
        except BaseException:
            connection.close()
            raise
        return Http1Response(self, connection, status, headers)

    def release(self, connection: _Connection) -> None:
        """A connection whose answer was read to its end."""
        if self._closed:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def close(self) -> None:
        """Close the idle connections; those in use close when their answers do."""
        self._closed = True
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def _reused(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.usable and now - connection.idle_since < self._keepalive_s:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        if self._closed:
            raise RuntimeError("the pool is closed")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout) as bound:
                _, connection = await loop.create_connection(_Connection, self._host, self._port)
        except TimeoutError:
            if bound.expired():
                raise ConnectTimeout(f"cannot connect to {self._host}:{self._port} in time") from None
            raise
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        return connection


async def _read_head(connection: _Connection) -> tuple[int, dict[str, str]]:
    """The status and headers (names in lower case) of the next answer that is not 1xx."""
    while True:
        end = connection.find(b"\r\n\r\n")
        while end < 0:
            if connection.available() > HEAD_LIMIT:
                raise Http1Error("the upstream's response head is too long")
            if not await connection.more():
                raise Http1Error("the upstream closed the connection before answering")
            end = connection.find(b"\r\n\r\n")
        lines = connection.take(end + 4)[:-4].decode("latin-1").split("\r\n")
        status = status_code(lines[0])
        if not 100 <= status < 200:
            break
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise Http1Error(f"a malformed header line: {line[:40]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if lines[0].startswith("HTTP/1.0") and "keep-alive" not in headers.get("connection", "").lower():
        headers["connection"] = "close"
    return status, headers
