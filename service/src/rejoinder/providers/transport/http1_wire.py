"""HTTP/1.1 as `http1` writes and reads it: the request head, and the parts of an answer that are text
(its status line, a Content-Length, a chunk's header)."""

from __future__ import annotations

HEAD_LIMIT = 64 * 1024  # the longest response head read
CRLF = b"\r\n"


class Http1Error(Exception):
    """The exchange failed: the connection broke, or the answer is not HTTP/1.1 as we read it."""


def chunk_head(buffer: bytearray, at: int) -> tuple[int, int] | None:
    """(where the chunk's data starts, its size) from the chunk header at `at`, or None until it is all
    buffered; for the last chunk (size 0), where its trailers and blank line end."""
    line_end = buffer.find(CRLF, at)
    if line_end < 0:
        if len(buffer) - at > HEAD_LIMIT:
            raise Http1Error("an HTTP chunk header is too long")
        return None
    size = chunk_size(buffer[at:line_end])
    if size:
        return line_end + 2, size
    blank = buffer.find(b"\r\n\r\n", at)  # "0", trailers if any, a blank line
    return (blank + 4, 0) if blank >= 0 else None


def content_length(text: str) -> int:
    """A Content-Length header's value."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise Http1Error(f"bad Content-Length: {text[:40]!r}")
    return int(digits)


def chunk_size(line: bytes | bytearray) -> int:
    """The size in a chunk's header line (hexadecimal, extensions ignored)."""
    digits = bytes(line.split(b";", 1)[0].strip())  # chunk extensions are ignored
    if not digits or digits.lstrip(b"0123456789abcdefABCDEF"):
        raise Http1Error(f"bad HTTP chunk size: {digits[:40]!r}")
    return int(digits, 16)


def status_code(line: str) -> int:
    """The status of an HTTP/1.x status line."""
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise Http1Error(f"not an HTTP/1.1 status line: {line[:40]!r}")
    return int(parts[1])


def request_head(method: str, target: str, host: str, headers: dict[str, str], length: int) -> bytes:
    """The request line and headers; a ValueError for a header that would break the head."""
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    for name, value in headers.items():
        if any(c in value or c in name for c in "\r\n\0"):
            raise ValueError(f"the {name} header has a line break or NUL in it")
        lines.append(f"{name}: {value}")
    lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
