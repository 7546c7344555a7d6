"""Which kind of file some bytes are: their first bytes (magic numbers) decide, then the file's name,
then the content type it was declared with, and last whether the bytes read as text.

A kind is one of `KINDS`. What we never read (images, audio, archives, executables, the binary Office
formats) is refused here by name, so the user learns what the file was taken for.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from rejoinder.extract.errors import ExtractError

KINDS = ("pdf", "docx", "pptx", "html", "json", "markdown", "code", "text")

CODE_SUFFIXES = frozenset(
    [
        ".py",
        ".pyi",
        ".js",
        ".mjs",
        ".cjs",
        ".jsx",
        ".ts",
        ".tsx",
        ".go",
        ".java",
        ".kt",
        ".kts",
        ".scala",
        ".swift",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".cxx",
        ".hpp",
        ".hh",
        ".cs",
        ".rs",
        ".rb",
        ".php",
        ".pl",
        ".pm",
        ".lua",
        ".r",
        ".m",
        ".dart",
        ".sh",
        ".bash",
        ".zsh",
        ".fish",
        ".ps1",
        ".bat",
        ".sql",
        ".css",
        ".scss",
        ".sass",
        ".less",
        ".tex",
        ".vue",
        ".svelte",
        ".proto",
        ".gradle",
        ".cmake",
        ".mk",
        ".el",
        ".clj",
        ".ex",
        ".exs",
        ".erl",
        ".hs",
        ".ml",
        ".fs",
        ".jl",
        ".zig",
        ".nim",
        ".v",
    ]
)
_BY_SUFFIX = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
} | dict.fromkeys(CODE_SUFFIXES, "code")
TEXT_SUFFIXES = frozenset(
    [
        ".txt",
        ".text",
        ".csv",
        ".tsv",
        ".log",
        ".xml",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".rst",
        ".adoc",
        ".org",
        ".jsonl",
        ".ndjson",
        ".srt",
        ".vtt",
        ".diff",
        ".patch",
        ".properties",
        ".env",
    ]
)
_BY_TYPE = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
}
_TEXT_TYPES = ("text/", "application/xml", "application/x-yaml", "application/yaml", "application/csv")
_CODE_TYPES = ("application/javascript", "application/x-python", "application/x-sh", "application/typescript")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office document (.doc, .xls or .ppt)"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"fLaC", "a FLAC file"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"SQLite format 3\x00", "a SQLite database"),
)
_REFUSED_SUFFIXES = {
    ".zip": "a ZIP archive",
    ".xlsx": "a spreadsheet (.xlsx)",
    ".xls": "a spreadsheet (.xls)",
    ".doc": "a legacy Word document (.doc)",
    ".ppt": "a legacy PowerPoint file (.ppt)",
    ".png": "a PNG image",
    ".jpg": "a JPEG image",
    ".jpeg": "a JPEG image",
    ".gif": "a GIF image",
    ".webp": "a WebP image",
    ".exe": "an executable",
}
_REFUSED_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/zip",
    "application/gzip",
    "application/x-zip",
    "application/x-tar",
    "application/x-7z",
    "application/x-rar",
    "application/vnd.ms-",
    "application/msword",
)
_HINT = "send PDF, text, Markdown, HTML, JSON, code, .docx or .pptx files"


def detect(data: bytes, filename: str, content_type: str | None) -> str:
    """The kind of `data`; raises `ExtractError` (unsupported) for a kind we do not read."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    suffix = PurePosixPath(filename.lower()).suffix
    by_bytes = _by_magic(data)
    if by_bytes is not None:
        return by_bytes
    if suffix in _REFUSED_SUFFIXES:
        raise unsupported(_REFUSED_SUFFIXES[suffix])
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    if suffix in TEXT_SUFFIXES:
        return "text"
    if mime in _BY_TYPE:
        return _BY_TYPE[mime]
    if mime.startswith(_CODE_TYPES):
        return "code"
    if mime.startswith(_TEXT_TYPES):
        return "text"
    if mime.startswith(_REFUSED_TYPES):
        raise unsupported(f"of type '{mime[:100]}'")
    return _sniffed(data)


def unsupported(what: str) -> ExtractError:
    """The error for a file we do not read; `what` names what it was taken for."""
    return ExtractError(f"The file is {what}, which is not supported; {_HINT}.", unsupported=True)


def _by_magic(data: bytes) -> str | None:
    if data.startswith(b"%PDF"):  # (a .pdf name or type also means PDF: junk before the header is read)
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        raise unsupported("a WebP image" if data[8:12] == b"WEBP" else "a RIFF media file")
    if data[4:8] == b"ftyp":
        raise unsupported("an MP4 or QuickTime media file")
    for magic, what in _MAGIC:
        if data.startswith(magic) and not _is_text_start(data, magic):
            raise unsupported(what)
    return None


def _is_text_start(data: bytes, magic: bytes) -> bool:
    """Short magics ("BM", "MZ", "BZh") also begin ordinary words: a file that reads as text is text."""
    if len(magic) > 3:
        return False
    try:
        data[:512].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= 509  # cut in the middle of a character
    return b"\x00" not in data[:512]


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, RuntimeError) as exc:
        raise ExtractError("The file looks like a ZIP archive but is damaged and cannot be read.") from exc
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "xl/workbook.xml" in names:
        raise unsupported("a spreadsheet (.xlsx)")
    raise unsupported("a ZIP archive")


def _sniffed(data: bytes) -> str:
    """No name or type says what it is: HTML when it starts like HTML, else text (the text decoder
    refuses what is binary)."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"
