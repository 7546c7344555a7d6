"""Bytes to text: UTF-8 (with or without a byte-order mark), UTF-16/32 when a mark says so, else
Windows-1252 (the usual encoding of a text file that is not UTF-8); bytes that are not text at all
are refused."""

from __future__ import annotations

import codecs

from rejoinder.extract.errors import ExtractError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")
MAX_CONTROL_SHARE = 0.01  # more control characters than this and it is not a text file


def decode_text(data: bytes) -> str:
    """The text of `data`; raises `ExtractError` (unsupported) when it is binary."""
    text = _decoded(data)
    if "\x00" in text or _control_share(text) > MAX_CONTROL_SHARE:
        raise ExtractError(
            "The file is binary, not text, and its kind is not one we read; send PDF, text, Markdown, "
            "HTML, JSON, code, .docx or .pptx files.",
            unsupported=True,
        )
    return text


def _decoded(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                what = encoding.upper().removesuffix("-SIG")
                raise ExtractError(f"The file is marked as {what} text but is not: {exc.reason}.") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch < " " and ch not in _ALLOWED_CONTROLS)
    return controls / len(sample)
