"""POST /v1/files as it streams: the multipart body's form fields (`purpose`, `expires_after[anchor]`,
`expires_after[seconds]`) and its `file` part, read into an upload whose bytes are passed on as they
arrive. Fields may come before or after the file; the metadata is complete once the body is read."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from google.api.httpbody_pb2 import HttpBody

from rejoinder.errors import invalid
from rejoinder.responses.v1.files_service_pb2 import CreateFileMetadata, FileExpiresAfter
from rejoinder.wire.multipart import Event, MultipartEvents, PartData, PartEnd, PartStart
from rejoinder.wire.raw_body import RawBody

MAX_FIELD_BYTES = 64 * 1024
FILE = "file"


async def _events(bodies: AsyncIterable[HttpBody | RawBody]) -> AsyncIterator[Event]:
    parser: MultipartEvents | None = None
    async for body in bodies:
        if parser is None:
            parser = MultipartEvents(body.content_type)
        for event in parser.feed(bytes(body.data)):
            yield event
    if parser is None:
        raise invalid("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    parser.close()


def _seconds(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise invalid(
            f"Invalid 'expires_after[seconds]': expected an integer, but got '{text[:40]}' instead.",
            param="expires_after.seconds",
            code="invalid_type",
        ) from None


class UploadForm:
    """The fields read so far, and the file part's name."""

    def __init__(self, bodies: AsyncIterable[HttpBody | RawBody]) -> None:
        self._events = _events(bodies)
        self._fields: dict[str, str] = {}
        self._filename: str | None = None

    def metadata(self) -> CreateFileMetadata:
        """What the fields read so far say about the file."""
        meta = CreateFileMetadata(filename=self._filename or "", purpose=self._fields.get("purpose", ""))
        anchor = self._fields.get("expires_after[anchor]")
        seconds = self._fields.get("expires_after[seconds]")
        if anchor is not None or seconds is not None:
            meta.expires_after.CopyFrom(
                FileExpiresAfter(anchor=anchor or "", seconds=_seconds(seconds) if seconds else 0)
            )
        return meta

    async def until_file(self) -> bool:
        """Read the fields before the file part; False when the body has no file part."""
        async for event in self._events:
            if isinstance(event, PartStart) and event.name == FILE and event.filename is not None:
                self._filename = event.filename
                return True
            if isinstance(event, PartStart):
                await self._field(event.name)
        return False

    async def _field(self, name: str) -> None:
        value = bytearray()
        async for event in self._events:
            if isinstance(event, PartEnd):
                break
            if isinstance(event, PartData):
                value += event.data
                if len(value) > MAX_FIELD_BYTES:
                    raise invalid(
                        f"The form field '{name[:40]}' is over {MAX_FIELD_BYTES} bytes.", param=name[:40]
                    )
        self._fields[name] = value.decode("utf-8", "replace")

    async def file_then_rest(self) -> AsyncIterator[bytes]:
        """The file part's bytes; then the fields after it are read."""
        async for event in self._events:
            if isinstance(event, PartEnd):
                break
            if isinstance(event, PartData):
                yield event.data
        async for event in self._events:
            if isinstance(event, PartStart) and event.filename is not None and event.name == FILE:
                raise invalid("Only one 'file' may be uploaded at a time.", param="file")
            if isinstance(event, PartStart):
                await self._field(event.name)

    def early(self) -> CreateFileMetadata | None:
        """The file's name and purpose, when `purpose` came before the file (so that they are checked
        before the bytes are read); the rest may still follow the file."""
        if "purpose" not in self._fields:
            return None
        return CreateFileMetadata(filename=self._filename or "", purpose=self._fields["purpose"])


async def no_bytes() -> AsyncIterator[bytes]:
    """The content of a body without a file part."""
    return
    yield b""
