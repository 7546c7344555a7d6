"""Word (.docx) and PowerPoint (.pptx) files: ZIP archives of XML, read with the standard library.

Only the text is read: a .docx's paragraphs in order, a .pptx's slides in order (one block each). A
member that would inflate past `MAX_MEMBER_BYTES` is refused (a ZIP bomb), and so is XML that does
not parse.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from xml.etree import ElementTree

from rejoinder.extract.errors import ExtractError

MAX_MEMBER_BYTES = 64 * 1024 * 1024
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_SLIDE = re.compile(r"ppt/slides/slide(\d+)\.xml")


def docx_text(data: bytes) -> str:
    """The paragraphs of a .docx, one per line."""
    with _archive(data, "Word") as archive:
        root = _xml(archive, "word/document.xml")
    return "\n".join(_paragraph(p, _W) for p in root.iter(f"{_W}p")).strip()


def pptx_text(data: bytes) -> tuple[str, int]:
    """The text of a .pptx's slides, in order, and how many slides it has."""
    with _archive(data, "PowerPoint") as archive:
        slides = sorted(
            (int(m.group(1)), name) for name in archive.namelist() if (m := _SLIDE.fullmatch(name))
        )
        texts = []
        for _, name in slides:
            root = _xml(archive, name)
            texts.append("\n".join(_paragraph(p, _A) for p in root.iter(f"{_A}p")).strip())
    return "\n\n".join(t for t in texts if t), len(slides)


def _paragraph(p: ElementTree.Element, ns: str) -> str:
    out: list[str] = []
    for el in p.iter():
        if el.tag == f"{ns}t" and el.text:
            out.append(el.text)
        elif el.tag in (f"{ns}tab", f"{_W}tab"):
            out.append("\t")
        elif el.tag in (f"{ns}br", f"{_W}cr"):
            out.append("\n")
    return "".join(out)


def _archive(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, RuntimeError) as exc:
        raise ExtractError(f"The {what} file is damaged and cannot be read.") from exc


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        info = archive.getinfo(name)
        if info.file_size > MAX_MEMBER_BYTES:
            raise ExtractError(f"The document's {name} is larger than {MAX_MEMBER_BYTES} bytes unpacked.")
        with archive.open(info) as member:
            raw = member.read(MAX_MEMBER_BYTES + 1)
        if len(raw) > MAX_MEMBER_BYTES:
            raise ExtractError(f"The document's {name} is larger than {MAX_MEMBER_BYTES} bytes unpacked.")
        return ElementTree.fromstring(raw)
    except KeyError as exc:
        raise ExtractError(f"The document has no {name}; it is damaged.") from exc
    except (zipfile.BadZipFile, zlib.error, ElementTree.ParseError, OSError, EOFError, ValueError) as exc:
        raise ExtractError(f"The document's {name} cannot be read: {exc}") from exc
    except (NotImplementedError, RuntimeError) as exc:  # a compression method or encryption zipfile lacks
        raise ExtractError(f"The document's {name} cannot be read: {exc}") from exc
