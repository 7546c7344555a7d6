"""PDFs, including the real-world kind with a missing or broken cross-reference table."""

from __future__ import annotations

from pathlib import Path

import pytest

from rejoinder.extract import ExtractError, extract_text
from tests.pdf_fixture import pdf_with_text
from tests.unit.extract.conftest import pdf_with_wrong_offsets, pdf_without_xref, two_page_pdf

DATA = Path(__file__).resolve().parents[2] / "data"


def test_the_open_responses_file_input_fixture_is_read() -> None:
    raw = (DATA / "openresponses-file-input.pdf").read_bytes()
    assert b"startxref" not in raw  # what made pypdf refuse it

    got = extract_text(raw, filename="openresponses-fixture.pdf", content_type="application/pdf")

    assert (got.text, got.kind, got.pages) == ("Title: OpenResponses File Input Fixture", "pdf", 1)


def test_a_well_formed_pdf_is_read() -> None:
    got = extract_text(pdf_with_text("Quarterly revenue was 42 million"), filename="", content_type=None)
    assert (got.text, got.kind, got.pages) == ("Quarterly revenue was 42 million", "pdf", 1)


@pytest.mark.parametrize("broken", [pdf_without_xref, pdf_with_wrong_offsets])
def test_a_pdf_with_a_missing_or_wrong_xref_table_is_read(broken: object) -> None:
    assert callable(broken)
    got = extract_text(broken("Revenue grew in the third quarter"), filename="r.pdf", content_type=None)
    assert got.text == "Revenue grew in the third quarter"


def test_pages_come_in_order_and_are_counted() -> None:
    got = extract_text(two_page_pdf("First page", "Second page"), filename="a.pdf", content_type=None)
    assert (got.text, got.pages) == ("First page\n\nSecond page", 2)


@pytest.mark.parametrize(
    ("raw", "name"),
    [(b"%PDF-nope", "x.pdf"), (b"just some words", "report.pdf"), (b"%PDF-1.4\n1 0 obj\n<<", "")],
)
def test_what_is_not_a_readable_pdf_is_refused_clearly(raw: bytes, name: str) -> None:
    with pytest.raises(ExtractError) as refused:
        extract_text(raw, filename=name, content_type="application/pdf")
    assert refused.value.message.startswith("The PDF could not be read")
    assert not refused.value.unsupported  # a PDF we read, but broken: not a kind we refuse
