"""multipart/form-data, read as it streams (python-multipart's push parser): bytes in, part events out.

Only what an upload needs: each part's form name and file name, its data in pieces, its end. Header
values are parsed with python-multipart's own `parse_options_header`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as default

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from rejoinder.errors import ApiError, clip, invalid

MAX_HEADER_BYTES = 8 * 1024


@dataclass(frozen=True)
class PartStart:
    """A part begins: its form field `name`, and `filename` when it is a file."""

    name: str
    filename: str | None


@dataclass(frozen=True)
class PartData:
    """The next bytes of the current part."""

    data: bytes


@dataclass(frozen=True)
class PartEnd:
    """The current part is complete."""


Event = PartStart | PartData | PartEnd


def _bad_body(detail: str) -> ApiError:
    return invalid(f"The request body is not valid multipart/form-data: {detail}", code="invalid_multipart")


def boundary_of(content_type: str) -> bytes:
    """The boundary of a multipart/form-data Content-Type; raises 400 for any other."""
    try:
        kind, options = parse_options_header(content_type)
    except UnicodeError:  # the parser takes latin-1 only; a real multipart Content-Type is ASCII
        kind, options = b"", {}
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise invalid(
            f"Invalid Content-Type '{clip(content_type)}': expected multipart/form-data with a boundary.",
            code="invalid_content_type",
        )
    return boundary


@dataclass
class _Headers:
    name: bytearray = default(default_factory=bytearray)
    value: bytearray = default(default_factory=bytearray)
    disposition: bytes = b""
    size: int = 0


class MultipartEvents:
    """Feed the body's bytes in order; each `feed` returns the events they complete."""

    def __init__(self, content_type: str) -> None:
        """Raises 400 unless `content_type` is multipart/form-data with a boundary."""
        self._events: list[Event] = []
        self._headers = _Headers()
        self._ended = False
        self._in_part = False
        callbacks = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }
        self._parser = MultipartParser(boundary_of(content_type), callbacks)  # type: ignore[arg-type]

    def feed(self, data: bytes) -> list[Event]:
        """Parse more of the body. Raises 400 for a malformed one."""
        try:
            self._parser.write(data)
        except MultipartParseError as exc:
            raise _bad_body(str(exc)) from exc
        out, self._events = self._events, []
        return out

    def close(self) -> None:
        """The body ended: raises 400 unless its closing boundary was seen."""
        if not self._ended:
            raise _bad_body("it ends before its closing boundary.")

    def _part_begin(self) -> None:
        self._headers = _Headers()
        self._in_part = True

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self._headers.name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._grow(end - start)
        self._headers.value += data[start:end]

    def _grow(self, size: int) -> None:
        self._headers.size += size
        if self._headers.size > MAX_HEADER_BYTES:
            raise _bad_body(f"a part's headers are over {MAX_HEADER_BYTES} bytes.")

    def _header_end(self) -> None:
        if bytes(self._headers.name).strip().lower() == b"content-disposition":
            self._headers.disposition = bytes(self._headers.value)
        self._headers.name = bytearray()
        self._headers.value = bytearray()

    def _headers_finished(self) -> None:
        kind, options = parse_options_header(self._headers.disposition)
        name = options.get(b"name")
        if kind != b"form-data" or name is None:
            raise _bad_body("a part has no Content-Disposition form-data name.")
        filename = options.get(b"filename")
        decoded = None if filename is None else filename.decode("utf-8", "replace")
        self._events.append(PartStart(name.decode("utf-8", "replace"), decoded))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(PartData(bytes(data[start:end])))

    def _part_end(self) -> None:
        self._in_part = False
        self._events.append(PartEnd())

    def _end(self) -> None:
        self._ended = True
