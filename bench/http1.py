"""A minimal HTTP/1.1 keep-alive client for the load generator: one `asyncio.Protocol` per connection.

It sends prebuilt request bytes and parses just enough of the answer (status line, Content-Length
or chunked framing) to know when it ends, handing body bytes to a callback as they arrive. No
header dicts, no URL parsing, no per-request allocations beyond the buffers: a request costs a few
tens of microseconds of the load generator's core, so the load generator is not what is measured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import Enum, auto
from typing import cast

import orjson

OnBody = Callable[[bytes], None]


class HttpError(Exception):
    """The connection broke or the answer was not HTTP/1.1 as expected."""


def build_request(host_port: str, path: str, body: bytes, extra_headers: str = "") -> bytes:
    """A complete `POST` request (JSON body, keep-alive)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host_port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra_headers}\r\n"
    )
    return head.encode() + body


async def get_json(host: str, port: int, path: str) -> object:
    """`GET path` on a fresh connection, the body parsed as JSON."""
    conn = await Http1Connection.open(host, port)
    body = bytearray()
    try:
        status = await conn.request(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode(), body.extend
        )
    finally:
        conn.close()
    if status != 200:
        raise HttpError(f"GET {path}: HTTP {status}")
    return orjson.loads(body)


class _State(Enum):
    IDLE = auto()
    HEAD = auto()
    LENGTH = auto()
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_CRLF = auto()
    TRAILER = auto()


class Http1Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._state = _State.IDLE
        self._remaining = 0
        self._on_body: OnBody | None = None
        self._done: asyncio.Future[int] | None = None
        self._status = 0
        self._closed = False

    @classmethod
    async def open(cls, host: str, port: int) -> Http1Connection:
        """Connect (loopback only is enforced by the caller)."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    @property
    def usable(self) -> bool:
        """Open and not mid-request."""
        return not self._closed and self._state is _State.IDLE

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._transport = None
        if self._done is not None and not self._done.done():
            self._done.set_exception(HttpError(f"connection lost: {exc or 'closed by peer'}"))

    def close(self) -> None:
        """Abort the connection (also mid-stream)."""
        if self._transport is not None:
            self._transport.abort()

    def request(self, payload: bytes, on_body: OnBody | None = None) -> asyncio.Future[int]:
        """Send `payload`; the future resolves to the status code once the whole answer is in."""
        if self._transport is None or self._state is not _State.IDLE:
            raise HttpError("connection is closed or busy")
        self._done = asyncio.get_running_loop().create_future()
        self._on_body = on_body
        self._state = _State.HEAD
        self._transport.write(payload)
        return self._done

    def data_received(self, data: bytes) -> None:
        self._buf += data
        try:
            while self._buf and self._step():
                pass
        except (ValueError, HttpError) as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_exception(HttpError(str(exc)))
        self.close()

    def _step(self) -> bool:
        """Consume what the buffer holds for the current state; False when more bytes are needed."""
        state = self._state
        if state is _State.HEAD:
            return self._head()
        if state is _State.LENGTH:
            return self._length_body()
        if state is _State.CHUNK_SIZE:
            return self._chunk_size()
        if state is _State.CHUNK_DATA:
            return self._chunk_data()
        if state is _State.CHUNK_CRLF or state is _State.TRAILER:
            return self._crlf()
        raise HttpError(f"unexpected bytes from the server: {bytes(self._buf[:60])!r}")

    def _head(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self._buf[:end]).lower()
        del self._buf[: end + 4]
        self._status = int(head[9:12])
        if b"\r\ntransfer-encoding: chunked" in head:
            self._state = _State.CHUNK_SIZE
            return True
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            raise HttpError("answer without content-length or chunked framing")
        stop = head.find(b"\r\n", at + 2)
        self._remaining = int(head[at + 17 : stop if stop >= 0 else len(head)])
        self._state = _State.LENGTH
        if self._remaining == 0:
            self._finish()
        return True

    def _deliver(self, count: int) -> None:
        if self._on_body is not None:
            self._on_body(bytes(self._buf[:count]))
        del self._buf[:count]

    def _length_body(self) -> bool:
        take = min(self._remaining, len(self._buf))
        self._deliver(take)
        self._remaining -= take
        if self._remaining == 0:
            self._finish()
        return True

    def _chunk_size(self) -> bool:
        end = self._buf.find(b"\r\n")
        if end < 0:
            return False
        size = int(bytes(self._buf[:end]).split(b";", 1)[0], 16)
        del self._buf[: end + 2]
        self._remaining = size
        self._state = _State.CHUNK_DATA if size else _State.TRAILER
        return True

    def _chunk_data(self) -> bool:
        take = min(self._remaining, len(self._buf))
        self._deliver(take)
        self._remaining -= take
        if self._remaining == 0:
            self._state = _State.CHUNK_CRLF
        return True

    def _crlf(self) -> bool:
        if len(self._buf) < 2:
            return False
        if self._buf[:2] != b"\r\n":
            raise HttpError("chunked framing: expected CRLF")
        del self._buf[:2]
        if self._state is _State.TRAILER:
            self._finish()
        else:
            self._state = _State.CHUNK_SIZE
        return True

    def _finish(self) -> None:
        self._state = _State.IDLE
        self._on_body = None
        if self._done is not None and not self._done.done():
            self._done.set_result(self._status)


class MarkerCounter:
    """Counts occurrences of `marker` in a byte stream fed in pieces, and when the first one came."""

    def __init__(
        self, marker: bytes, clock: Callable[[], float], on_first: Callable[[], None] | None = None
    ) -> None:
        self._marker = marker
        self._on_first = on_first
        self._keep = len(marker) - 1
        self._tail = b""
        self._clock = clock
        self.count = 0
        self.first_at = 0.0
        self.size = 0

    def feed(self, data: bytes) -> None:
        """Take the next piece of the body."""
        self.size += len(data)
        window = self._tail + data if self._tail else data
        found = window.count(self._marker)
        if found:
            if not self.count:
                self.first_at = self._clock()
                if self._on_first is not None:
                    self._on_first()
            self.count += found
        self._tail = window[-self._keep :] if self._keep else b""
