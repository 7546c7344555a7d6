"""POST /v1/files bodies read as they stream: any chunking, fields before or after the file, and clear
400s for bodies that are not what an upload is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from google.api.httpbody_pb2 import HttpBody

from rejoinder.errors import ApiError
from rejoinder.wire.upload_form import UploadForm

BOUNDARY = "xYzZy"
TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def _chunks(data: bytes, size: int, content_type: str = TYPE) -> AsyncIterator[HttpBody]:
    for start in range(0, max(len(data), 1), size):
        yield HttpBody(content_type=content_type, data=data[start : start + size])


async def _read(form: UploadForm) -> tuple[bool, bytes]:
    has_file = await form.until_file()
    data = b"".join([c async for c in form.file_then_rest()]) if has_file else b""
    return has_file, data


@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
async def test_the_sdks_body_in_any_chunking(size: int) -> None:
    payload = b"line one\r\n--xYzZ not the boundary\r\n" * 50
    request = httpx.Request(
        "POST",
        "http://x/v1/files",
        data={
            "purpose": "assistants",
            "expires_after[anchor]": "created_at",
            "expires_after[seconds]": "3600",
        },
        files={"file": ("notes.md", payload, "text/markdown")},
    )
    form = UploadForm(_chunks(request.read(), size, request.headers["content-type"]))
    assert await _read(form) == (True, payload)
    early = form.early()
    assert early is not None and (early.filename, early.purpose) == ("notes.md", "assistants")
    meta = form.metadata()
    assert (meta.expires_after.anchor, meta.expires_after.seconds) == ("created_at", 3600)


async def test_fields_after_the_file_are_read_with_it() -> None:
    body = _body([("file", "late.txt", b"bytes"), ("purpose", None, b"batch")])
    form = UploadForm(_chunks(body, 5))
    assert await form.until_file()
    assert form.early() is None  # the purpose is not known before the bytes
    assert b"".join([c async for c in form.file_then_rest()]) == b"bytes"
    assert (form.metadata().filename, form.metadata().purpose) == ("late.txt", "batch")


async def test_a_body_without_a_file() -> None:
    form = UploadForm(_chunks(_body([("purpose", None, b"assistants")]), 9))
    assert await _read(form) == (False, b"")
    assert form.metadata().filename == ""


async def test_two_files_are_refused() -> None:
    body = _body([("file", "a.txt", b"a"), ("file", "b.txt", b"b")])
    form = UploadForm(_chunks(body, 1000))
    with pytest.raises(ApiError, match="Only one 'file'"):
        await _read(form)


@pytest.mark.parametrize(
    ("content_type", "body", "words"),
    [
        ("application/json", b'{"purpose": "assistants"}', "expected multipart/form-data"),
        ("multipart/form-data", b"", "expected multipart/form-data"),  # no boundary
        ("multipart/form-data; boundary=\u4e2d", b"", "expected multipart/form-data"),  # not latin-1
        (TYPE, _body([("file", "a.txt", b"cut")])[:-20], "ends before its closing boundary"),
        (TYPE, b"garbage without any boundary at all", "not valid multipart/form-data"),
    ],
)
async def test_bodies_that_are_not_uploads_are_400s(content_type: str, body: bytes, words: str) -> None:
    form = UploadForm(_chunks(body, 8, content_type))
    with pytest.raises(ApiError, match=words) as refused:
        await _read(form)
    assert refused.value.kind.value == "invalid_request_error"


async def test_a_huge_field_is_refused() -> None:
    body = _body([("purpose", None, b"x" * 70_000), ("file", "a.txt", b"a")])
    with pytest.raises(ApiError, match="over 65536 bytes") as refused:
        await _read(UploadForm(_chunks(body, 4096)))
    assert refused.value.param == "purpose"


async def test_a_seconds_field_that_is_not_a_number() -> None:
    body = _body(
        [("purpose", None, b"batch"), ("expires_after[seconds]", None, b"soon"), ("file", "a", b"a")]
    )
    form = UploadForm(_chunks(body, 4096))
    await _read(form)
    with pytest.raises(ApiError, match="expected an integer") as refused:
        form.metadata()
    assert refused.value.param == "expires_after.seconds"
