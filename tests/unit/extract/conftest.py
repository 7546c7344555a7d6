"""Files made in the tests: PDFs with a broken or missing cross-reference table, Office documents."""

from __future__ import annotations

import io
import re
import zipfile

from tests.pdf_fixture import pdf_with_text


def pdf_without_xref(text: str) -> bytes:
    """A one-page PDF with no `xref` table, no trailer offsets and no `startxref` (as the Open Responses
    fixture): a reader must find the objects by scanning."""
    whole = pdf_with_text(text)
    return whole[: whole.index(b"xref\n")] + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def pdf_with_wrong_offsets(text: str) -> bytes:
    """A one-page PDF whose `xref` entries and `startxref` all point at the wrong bytes."""
    wrong = re.sub(rb"\d{10} 00000 n", b"0000000003 00000 n", pdf_with_text(text))
    return re.sub(rb"startxref\n\d+", b"startxref\n7", wrong)


def two_page_pdf(first: str, second: str) -> bytes:
    """A PDF of two pages, each showing its text (no xref table: scanning finds both)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
        _page(4),
        _stream(first),
        _page(6),
        _stream(second),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    for number, body in enumerate(objects, start=1):
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    return out + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _page(contents: int) -> bytes:
    return (
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {contents} 0 R "
        "/Resources << /Font << /F1 7 0 R >> >> >>"
    ).encode()


def _stream(text: str) -> bytes:
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream"


def _zip(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'


def docx(*paragraphs: str) -> bytes:
    """A minimal .docx with these paragraphs."""
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    return _zip(
        {
            "[Content_Types].xml": "<Types/>",
            "word/document.xml": f"<w:document {_W}><w:body>{body}</w:body></w:document>",
        }
    )


def pptx(*slides: str) -> bytes:
    """A minimal .pptx with one text box per slide (written out of order in the archive)."""
    members = {"ppt/presentation.xml": "<p:presentation/>"}
    for number, text in reversed(list(enumerate(slides, start=1))):
        members[f"ppt/slides/slide{number}.xml"] = (
            f"<p:sld xmlns:p='urn:p' {_A}><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:sld>"
        )
    return _zip(members)


def xlsx() -> bytes:
    """A workbook's skeleton."""
    return _zip({"xl/workbook.xml": "<workbook/>", "[Content_Types].xml": "<Types/>"})


def plain_zip() -> bytes:
    """An ordinary ZIP archive."""
    return _zip({"notes.txt": "hello"})
