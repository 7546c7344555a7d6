"""`extract_text`: the kind of a file, then its text."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rejoinder.extract.detect import detect
from rejoinder.extract.errors import ExtractError
from rejoinder.extract.html import html_text
from rejoinder.extract.office import docx_text, pptx_text
from rejoinder.extract.pdf import pdf_text
from rejoinder.extract.text import decode_text


@dataclass(frozen=True)
class Extracted:
    """A file's text. `kind` is one of `detect.KINDS`; `pages` counts a PDF's pages or a deck's
    slides, None for kinds that have none."""

    text: str
    kind: str
    pages: int | None = None


def extract_text(data: bytes, *, filename: str, content_type: str | None) -> Extracted:
    """The text of `data`, a file named `filename` ("" when unknown) sent as `content_type`.

    Raises `ExtractError` with a message for the user: `unsupported` for a kind we do not read (an
    image, an archive, binary data), else for a file of a kind we read that is broken. CPU-bound:
    call it in a thread from async code.
    """
    kind = detect(data, filename, content_type)
    if kind == "pdf":
        text, pages = pdf_text(data)
        return Extracted(text, kind, pages)
    if kind == "docx":
        return Extracted(docx_text(data), kind)
    if kind == "pptx":
        text, slides = pptx_text(data)
        return Extracted(text, kind, slides)
    text = decode_text(data)
    if kind == "html":
        return Extracted(html_text(text), kind)
    if kind == "json":
        _check_json(text)
    return Extracted(text, kind)


def _check_json(text: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractError(
            f"The JSON file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise ExtractError("The JSON file nests too deeply to read.") from exc
