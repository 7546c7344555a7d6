"""Damaged files of every kind we read: each is text or an `ExtractError`, never another exception."""

from __future__ import annotations

import random

import pytest

from rejoinder.extract import ExtractError, extract_text
from tests.pdf_fixture import pdf_with_text
from tests.unit.extract.conftest import docx, pdf_without_xref, pptx

GOOD = [
    (pdf_with_text("hello"), "a.pdf"),
    (pdf_without_xref("hello"), "a.pdf"),
    (docx("Minutes", "Budget"), "a.docx"),
    (pptx("Intro", "End"), "a.pptx"),
    (b"<html><script>x()</script><p>hi</p></html>", "a.html"),
    (b'{"a": [1, 2, {"b": null}]}', "a.json"),
]


def _mangled(rng: random.Random, raw: bytes) -> bytes:
    out = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out))
        match rng.choice(("flip", "cut", "repeat", "zero")):
            case "flip":
                out[at] ^= rng.randint(1, 255)
            case "cut":
                del out[max(at, 1) :]
            case "repeat":
                out[at:at] = out[at : at + 200] * rng.randint(1, 20)
            case _:
                out[at : at + 8] = b"0" * 8
    return bytes(out)


@pytest.mark.parametrize(("raw", "name"), GOOD, ids=[name for _, name in GOOD])
def test_mangled_files_are_read_or_refused_cleanly(raw: bytes, name: str) -> None:
    rng = random.Random(name)
    refused = 0
    for _ in range(400):
        try:
            extract_text(_mangled(rng, raw), filename=rng.choice((name, "")), content_type=None)
        except ExtractError as exc:
            assert exc.message
            refused += 1
    assert refused < 400 or name.endswith((".docx", ".pptx"))  # most damage to text still reads
