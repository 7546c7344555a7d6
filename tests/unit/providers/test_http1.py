"""The lean HTTP/1.1 client against a raw socket server that answers exactly the bytes a test scripts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from rejoinder.providers.transport.http1 import PAUSE_BYTES, ConnectError, Http1Pool, Http1Response
from rejoinder.providers.transport.http1_wire import Http1Error, request_head

HEAD = request_head("POST", "/v1/chat/completions", "127.0.0.1", {"content-type": "application/json"}, 2)
CHUNKED = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nx-trailer: 1\r\n\r\n"
)
SIZED = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world!"
TO_THE_END = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world!"


@dataclass
class Server:
    """Answers each request on a connection with the next scripted answer, written in the given pieces
    (a pause between them), then keeps the connection open unless told to close it."""

    answers: list[Sequence[bytes]]
    close_after: bool = False
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                for piece in self.answers.pop(0):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.001)
                if self.close_after:
                    return
            await reader.read()  # until the client closes
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    scripted = Server(answers=[])
    listening = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    scripted.port = listening.sockets[0].getsockname()[1]
    yield scripted
    listening.close()


def pool(server: Server) -> Http1Pool:
    return Http1Pool("127.0.0.1", server.port, 5.0, 30.0)


def bytewise(answer: bytes) -> list[bytes]:
    return [answer[i : i + 1] for i in range(len(answer))]


async def body_of(response: Http1Response) -> bytes:
    try:
        return await response.read()
    finally:
        response.close()


@pytest.mark.parametrize("answer", [CHUNKED, SIZED, TO_THE_END], ids=["chunked", "sized", "to-the-end"])
async def test_a_body_read_whatever_its_bytes_arrive_in(server: Server, answer: bytes) -> None:
    server.answers = [bytewise(answer), [answer]]
    server.close_after = answer is TO_THE_END  # its body ends with the connection
    client = pool(server)

    for _ in range(2):
        response = await client.request(HEAD, [b"{}"])
        assert response.status == 200
        assert await body_of(response) == b"hello world!"
    client.close()


async def test_one_chunk_at_a_time_until_asked_for_more(server: Server) -> None:
    server.answers = [[CHUNKED]]
    client = pool(server)
    response = await client.request(HEAD, [b"{}"])

    assert await response.read_some(one_chunk=True) == b"hello"
    assert await response.read_some() == b" world!"
    assert await response.read_some() == b""
    response.close()
    client.close()


async def test_a_connection_read_to_its_end_is_reused_and_an_unfinished_one_is_not(server: Server) -> None:
    server.answers = [[SIZED], [CHUNKED], [SIZED]]
    client = pool(server)

    await body_of(await client.request(HEAD, [b"{}"]))
    unfinished = await client.request(HEAD, [b"{}"])
    assert await unfinished.read_some(one_chunk=True) == b"hello"
    unfinished.close()
    await body_of(await client.request(HEAD, [b"{}"]))

    assert server.connections == 2
    assert server.requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n")
    assert server.requests[0].endswith(b"content-length: 2\r\n\r\n{}")
    client.close()


async def test_a_connection_the_server_closed_is_not_reused(server: Server) -> None:
    server.answers = [[SIZED], [SIZED]]
    server.close_after = True
    client = pool(server)

    await body_of(await client.request(HEAD, [b"{}"]))
    await asyncio.sleep(0.05)  # the server's close arrives while the connection is idle
    assert await body_of(await client.request(HEAD, [b"{}"])) == b"hello world!"
    assert server.connections == 2
    client.close()


async def test_informational_answers_are_skipped_and_http_1_0_closes(server: Server) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server.answers = [[answer], [SIZED]]
    client = pool(server)

    response = await client.request(HEAD, [b"{}"])
    assert (response.status, await body_of(response)) == (200, b"ok")
    await body_of(await client.request(HEAD, [b"{}"]))
    assert server.connections == 2, "an HTTP/1.0 answer without keep-alive ends its connection"
    client.close()


async def test_headers_are_read_case_insensitively_and_repeated_ones_joined(server: Server) -> None:
    server.answers = [
        [b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n"]
    ]
    client = pool(server)
    response = await client.request(HEAD, [b"{}"])

    assert (response.status, response.header("retry-after"), response.header("x-a")) == (429, "3", "1, 2")
    assert await body_of(response) == b""
    client.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\ncut short",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ],
    ids=[
        "not-http",
        "bad-chunk-size",
        "negative-chunk-size",
        "no-crlf-after-chunk",
        "cut-short",
        "bad-length",
        "bad-header",
    ],
)
async def test_what_is_not_http_as_read_here_is_an_http1_error(server: Server, answer: bytes) -> None:
    server.answers = [[answer]]
    server.close_after = True
    client = pool(server)

    with pytest.raises(Http1Error):
        await body_of(await client.request(HEAD, [b"{}"]))
    client.close()


async def test_abort_fails_the_pending_read_with_the_given_error(server: Server) -> None:
    server.answers = [[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]]
    client = pool(server)
    response = await client.request(HEAD, [b"{}"])
    pending = asyncio.ensure_future(response.read_some())
    await asyncio.sleep(0.01)

    response.abort(TimeoutError("too quiet"))

    with pytest.raises(TimeoutError, match="too quiet"):
        await pending
    response.close()
    client.close()


async def test_a_burst_bigger_than_the_buffer_arrives_whole(server: Server) -> None:
    body = bytes(range(256)) * (4 * PAUSE_BYTES // 256)
    server.answers = [[b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body), body]]
    client = pool(server)
    response = await client.request(HEAD, [b"{}"])
    pieces = []
    while piece := await response.read_some():
        pieces.append(piece)
        await asyncio.sleep(0)  # a consumer slower than the socket: reading pauses and resumes

    assert b"".join(pieces) == body
    response.close()
    client.close()


async def test_a_big_request_is_written_in_its_pieces(server: Server) -> None:
    pieces = [b"x" * 300_000, b"y" * 300_000, b"z"]
    head = request_head("POST", "/", "h", {}, sum(map(len, pieces)))
    server.answers = [[SIZED]]
    client = pool(server)

    await body_of(await client.request(head, pieces))

    assert server.requests[0].endswith(b"".join(pieces))
    client.close()


async def test_a_refused_connection_is_a_connect_error() -> None:
    listening = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    listening.close()
    await listening.wait_closed()

    with pytest.raises(ConnectError):
        await Http1Pool("127.0.0.1", port, 5.0, 30.0).request(HEAD, [b"{}"])


def test_a_header_that_would_break_the_head_is_refused() -> None:
    with pytest.raises(ValueError, match="authorization"):
        request_head("POST", "/", "h", {"authorization": "Bearer a\r\nx-evil: 1"}, 0)
