"""Server-sent events framing of an upstream's streamed answer: bytes in, each event's `data` out."""

from __future__ import annotations

from collections.abc import Iterator


class SseFramer:
    """Server-sent events framing: bytes in, the `data` of each complete event out.

    Lines end with LF, CRLF or CR, as the SSE specification says (and nothing else: a U+2028 inside a
    JSON string is text).
    """

    def __init__(self) -> None:
        self._tail = b""
        self._skip_lf = False
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Take the next bytes of the body; yield the data of the events they complete, in order, as
        each is found (the first event of a long read is not held behind the rest)."""
        if self._skip_lf:  # the previous bytes ended with CR: an LF now is the rest of that CRLF
            self._skip_lf = False
            chunk = chunk.removeprefix(b"\n")
        buf = self._tail + chunk if self._tail else chunk
        if b"\r" in buf:
            self._skip_lf = buf.endswith(b"\r")
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        self._tail = lines.pop()
        for line in lines:
            if line:
                name, _, value = line.partition(b":")
                if name == b"data":
                    self._data.append(value[1:] if value.startswith(b" ") else value)
            elif self._data:
                event = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
                self._data.clear()
                yield event
