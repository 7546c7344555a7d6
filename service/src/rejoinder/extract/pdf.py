"""PDF text through PDFium (the `pypdfium2` wheel: Chrome's PDF engine, BSD-3-Clause/Apache-2.0).

PDFium reads what stricter parsers refuse: a file whose cross-reference table is missing or broken
(it rebuilds it by scanning the objects), junk before the header, a cut-off end. pypdf, which this
replaced, refused the Open Responses compliance suite's own `file-input` PDF ("startxref not found").

PDFium is one library per process and not thread-safe: every call into it holds `_PDFIUM`. This lock
is module state on purpose, as the library it guards is process state.
"""

from __future__ import annotations

import threading

import pypdfium2

from rejoinder.extract.errors import ExtractError

_PDFIUM = threading.Lock()


def pdf_text(data: bytes) -> tuple[str, int]:
    """The text of every page (pages apart by a blank line) and the number of pages."""
    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            raise ExtractError(_why(str(exc))) from exc
        try:
            pages = [_page_text(document, i) for i in range(len(document))]
        finally:
            document.close()
    return "\n\n".join(p for p in pages if p).strip(), len(pages)


def _page_text(document: pypdfium2.PdfDocument, index: int) -> str:
    try:
        page = document[index]
    except pypdfium2.PdfiumError as exc:
        raise ExtractError(f"The PDF's page {index + 1} could not be read: {exc}") from exc
    try:
        textpage = page.get_textpage()
        try:
            text: str = textpage.get_text_range()
        finally:
            textpage.close()
    except pypdfium2.PdfiumError as exc:
        raise ExtractError(f"The PDF's page {index + 1} could not be read: {exc}") from exc
    finally:
        page.close()
    return text.replace("\r\n", "\n").strip()


def _why(detail: str) -> str:
    if "password" in detail.lower():
        return "The PDF is encrypted with a password; send it without the password."
    return f"The PDF could not be read: {detail.rstrip('.')}."
