"""Every kind people upload for file search, told apart by name, type and bytes; what we do not read
is refused with a message that says what the file was taken for."""

from __future__ import annotations

import json
import random

import pytest

from rejoinder.extract import ExtractError, extract_text
from tests.unit.extract.conftest import docx, plain_zip, pptx, xlsx

PAGE = b"""<!DOCTYPE html>
<html><head><title>Release notes</title>
<style>body { color: red }</style>
<script>var secret = "do not index me";</script></head>
<body><h1>Version 2</h1><p>Faster &amp; smaller.</p><script>track()</script>
<ul><li>One</li><li>Two</li></ul><noscript>enable js</noscript></body></html>"""


def test_html_keeps_only_what_a_reader_sees() -> None:
    got = extract_text(PAGE, filename="notes.html", content_type="text/html")

    assert got.kind == "html"
    assert got.text == "Release notes\n\nVersion 2\n\nFaster & smaller.\n\nOne\n\nTwo"
    assert "secret" not in got.text and "color" not in got.text and "track" not in got.text


def test_html_is_recognised_by_its_start_when_nothing_else_says() -> None:
    assert extract_text(PAGE, filename="", content_type=None).kind == "html"


def test_markdown_and_code_come_back_as_written() -> None:
    md = extract_text(b"# Notes\n\n* one", filename="notes.md", content_type="text/markdown")
    code = extract_text(b'fn main() {\n    println!("hi");\n}\n', filename="main.rs", content_type=None)

    assert (md.kind, md.text) == ("markdown", "# Notes\n\n* one")
    assert (code.kind, code.text) == ("code", 'fn main() {\n    println!("hi");\n}\n')


@pytest.mark.parametrize(
    "name", ["a.py", "b.ts", "c.go", "d.java", "e.cpp", "f.rb", "g.php", "h.sh", "i.css", "j.tex"]
)
def test_code_files_are_code(name: str) -> None:
    assert extract_text(b"x = 1\n", filename=name, content_type="application/octet-stream").kind == "code"


def test_json_is_checked_and_kept() -> None:
    raw = json.dumps({"city": "Zürich", "n": [1, 2]}, ensure_ascii=False).encode()
    got = extract_text(raw, filename="data.json", content_type="application/json")
    assert (got.kind, json.loads(got.text)) == ("json", {"city": "Zürich", "n": [1, 2]})

    with pytest.raises(ExtractError) as refused:
        extract_text(b'{"a": 1,,}', filename="data.json", content_type=None)
    assert "not valid JSON" in refused.value.message and "line 1, column 9" in refused.value.message


def test_text_that_is_not_utf8_is_read_as_windows_1252() -> None:
    got = extract_text("café \u2013 naïve".encode("cp1252"), filename="old.txt", content_type=None)
    assert (got.kind, got.text) == ("text", "café \u2013 naïve")


def test_byte_order_marks_are_honoured() -> None:
    assert extract_text("\ufeffhello".encode(), filename="a.txt", content_type=None).text == "hello"
    assert extract_text("grüße".encode("utf-16"), filename="a.txt", content_type=None).text == "grüße"


def test_office_documents_are_read() -> None:
    doc = extract_text(docx("Minutes", "Budget approved"), filename="m.docx", content_type=None)
    deck = extract_text(pptx("Intro", "Roadmap", "Questions"), filename="", content_type=None)

    assert (doc.kind, doc.text) == ("docx", "Minutes\nBudget approved")
    assert (deck.kind, deck.text, deck.pages) == ("pptx", "Intro\n\nRoadmap\n\nQuestions", 3)


@pytest.mark.parametrize(
    ("raw", "name", "mime", "said"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "", None, "a PNG image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "photo.txt", "text/plain", "a JPEG image"),
        (plain_zip(), "a.zip", "application/zip", "a ZIP archive"),
        (b"PK", "a.zip", "application/zip", "a ZIP archive"),
        (xlsx(), "sheet.xlsx", None, "a spreadsheet (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32, "old.doc", None, "legacy Office"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 32, "", None, "an executable"),
        (b"whatever", "clip.mp3", "audio/mpeg", "of type 'audio/mpeg'"),
    ],
)
def test_kinds_we_do_not_read_are_refused_by_name(raw: bytes, name: str, mime: str | None, said: str) -> None:
    with pytest.raises(ExtractError) as refused:
        extract_text(raw, filename=name, content_type=mime)
    assert refused.value.unsupported
    assert said in refused.value.message and "not supported" in refused.value.message


def test_binary_garbage_is_refused() -> None:
    garbage = random.Random(7).randbytes(4096)
    with pytest.raises(ExtractError) as refused:
        extract_text(garbage, filename="", content_type="application/octet-stream")
    assert refused.value.unsupported and "binary" in refused.value.message


def test_text_sent_as_octet_stream_is_still_text() -> None:
    got = extract_text(b"BMW and MZ are words too", filename="", content_type="application/octet-stream")
    assert (got.kind, got.text) == ("text", "BMW and MZ are words too")


def test_a_damaged_office_document_is_a_broken_file_not_an_unsupported_one() -> None:
    cut = docx("Minutes")[:-30]
    with pytest.raises(ExtractError) as refused:
        extract_text(cut, filename="m.docx", content_type=None)
    assert not refused.value.unsupported


def test_an_empty_file_is_empty_text() -> None:
    assert extract_text(b"", filename="empty.txt", content_type=None).text == ""
