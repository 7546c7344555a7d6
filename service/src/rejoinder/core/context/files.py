"""`input_file` parts as text the model can read, through `rejoinder.extract` (PDF, text, Markdown,
HTML, JSON, code, .docx, .pptx).

Files come inline (`file_data`, a base64 `data:` URL) or by `file_url` (fetched with a size cap
and a timeout). The text is computed once per response, before the first byte, so an unreadable
file is a 400 and never a failed stream.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Sequence

from rejoinder.errors import invalid
from rejoinder.extract import ExtractError, extract_text
from rejoinder.pacing import each
from rejoinder.responses.v1.content_pb2 import InputFile
from rejoinder.responses.v1.items_pb2 import InputItem

MAX_FILE_BYTES = 32 * 1024 * 1024

Fetch = Callable[[str], Awaitable[tuple[bytes, str]]]


def file_key(f: InputFile) -> str:
    """A key naming the file's content (the data, or the URL)."""
    source = f.file_data if f.HasField("file_data") else f.file_url
    return hashlib.sha256(source.encode()).hexdigest()


def _decode_data(data: str, param: str) -> tuple[bytes, str]:
    mime = ""
    if data.startswith("data:"):
        header, _, data = data.partition(",")
        mime = header[5:].split(";", 1)[0]
    try:
        return base64.b64decode(data, validate=True), mime
    except (binascii.Error, ValueError) as exc:
        raise invalid("The file_data is not valid base64.", param=param, code="invalid_value") from exc


async def _text(raw: bytes, mime: str, name: str, param: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise invalid(f"The file is larger than {MAX_FILE_BYTES} bytes.", param=param, code="file_too_large")
    try:
        extracted = await asyncio.to_thread(extract_text, raw, filename=name, content_type=mime or None)
    except ExtractError as exc:
        code = "unsupported_file_type" if exc.unsupported else "invalid_file"
        raise invalid(exc.message, param=param, code=code) from exc
    return extracted.text


async def _read(f: InputFile, param: str, fetch: Fetch) -> str:
    name = f.filename if f.HasField("filename") else ""
    if f.HasField("file_data"):
        raw, mime = _decode_data(f.file_data, f"{param}.file_data")
    elif f.HasField("file_url"):
        raw, mime = await fetch(f.file_url)
    else:
        raise invalid(
            "Uploaded files (file_id) are not supported; send file_data or file_url.",
            param=f"{param}.file_id",
            code="unsupported_parameter",
        )
    text = await _text(raw, mime, name, param)
    header = f"[file: {name}]\n" if name else ""
    return header + text


async def file_texts(items: Sequence[InputItem], fetch: Fetch) -> dict[str, str]:
    """The text of every `input_file` part in the items, by `file_key`."""
    texts: dict[str, str] = {}
    async for i, item in each(enumerate(items)):
        if item.WhichOneof("item") != "message":
            continue
        for j, part in enumerate(item.message.content.parts.items):
            if part.WhichOneof("part") == "input_file":
                key = file_key(part.input_file)
                if key not in texts:
                    texts[key] = await _read(part.input_file, f"input[{i}].content[{j}]", fetch)
    return texts


async def has_images(items: Sequence[InputItem]) -> bool:
    """Whether any message carries an image."""
    async for item in each(items):
        if item.WhichOneof("item") == "message" and any(
            part.WhichOneof("part") == "input_image" for part in item.message.content.parts.items
        ):
            return True
    return False
