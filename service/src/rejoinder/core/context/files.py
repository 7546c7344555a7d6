"""`input_file` parts as text the model can read: PDFs through pypdf, text files as they are.

Files come inline (`file_data`, a base64 `data:` URL) or by `file_url` (fetched with a size cap
and a timeout). The text is computed once per response, before the first byte, so an unreadable
file is a 400 and never a failed stream.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
from collections.abc import Awaitable, Callable, Sequence

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from rejoinder.errors import clip, invalid
from rejoinder.pacing import each
from rejoinder.responses.v1.content_pb2 import InputFile
from rejoinder.responses.v1.items_pb2 import InputItem

MAX_FILE_BYTES = 32 * 1024 * 1024
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-yaml", "application/csv")
TEXT_SUFFIXES = (".txt", ".md", ".csv", ".json", ".xml", ".yaml", ".yml", ".py", ".html", ".log")

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


def _pdf_text(raw: bytes) -> str:
    reader = PdfReader(io.BytesIO(raw))
    return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()


async def _text(raw: bytes, mime: str, name: str, param: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise invalid(f"The file is larger than {MAX_FILE_BYTES} bytes.", param=param, code="file_too_large")
    if mime == "application/pdf" or raw.startswith(b"%PDF") or name.lower().endswith(".pdf"):
        try:
            return await asyncio.to_thread(_pdf_text, raw)
        except (PdfReadError, ValueError, KeyError) as exc:
            raise invalid(f"The PDF could not be read: {exc}", param=param, code="invalid_file") from exc
    if mime.startswith(TEXT_TYPES) or name.lower().endswith(TEXT_SUFFIXES) or (not mime and not name):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise invalid("The file is not UTF-8 text.", param=param, code="invalid_file") from exc
    raise invalid(
        f"Files of type '{clip(mime or name)}' are not supported; send PDF or text files.",
        param=param,
        code="unsupported_file_type",
    )


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
