"""Ofsted report PDFs: generated from text specs, read back, compared with expected facts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from scraper.ingest.sources.ofsted_grades import LSCB, SIF_AREAS
from scraper.ingest.sources.ofsted_pdf import (
    PdfFacts,
    is_pdf,
    parse_date_span,
    parse_report_text,
    read_pdf,
)
from tests.pdfgen import build_case

FIXTURES = Path(__file__).parent / "fixtures" / "pdf"
CASES = sorted(p.name.removesuffix(".txt") for p in FIXTURES.glob("*.txt"))
SPANS = json.loads((FIXTURES / "date_spans.expected.json").read_text(encoding="utf-8"))


def _as_json(facts: PdfFacts) -> dict[str, Any]:
    data = dataclasses.asdict(facts)
    data["visit_dates"] = [d.isoformat() for d in facts.visit_dates]
    data["pdf_published"] = facts.pdf_published.isoformat() if facts.pdf_published else None
    return data


@pytest.mark.parametrize("case", CASES)
def test_read_pdf_matches_expected_facts(case: str, tmp_path: Path) -> None:
    """Each generated PDF (or broken body) reads to exactly its expected facts, never raising."""
    path = tmp_path / f"{case}.pdf"
    path.write_bytes(build_case(case))
    expected = json.loads((FIXTURES / f"{case}.expected.json").read_text(encoding="utf-8"))
    assert _as_json(read_pdf(path.read_bytes())) == expected


@pytest.mark.parametrize(("text", "expected"), list(SPANS.items()))
def test_parse_date_span_reads_every_variant(text: str, expected: list[str]) -> None:
    """Every date-span form in real reports gives its written days; no year means no date."""
    assert [d.isoformat() for d in parse_date_span(text)] == expected


def test_read_pdf_sif_keeps_own_published_date_not_metadata_title() -> None:
    """The SIF PDF's own published date (13 May) is read; the 'Draft report' /Title is ignored."""
    facts = read_pdf(build_case("sif_2015_inadequate"))
    assert facts.pdf_published is not None and facts.pdf_published.isoformat() == "2015-05-13"
    assert facts.council_as_written == "West Berkshire Council"


def test_read_pdf_focused_visit_is_never_monitoring() -> None:
    """A focused-visit letter that mentions monitoring visits is still a focused visit."""
    facts = read_pdf(build_case("focused_visit"))
    assert facts.report_type == "focused_visit"
    assert facts.visit_number is None and facts.judgement is None


@pytest.mark.parametrize(
    "body",
    [b"", b"%PDF-", b"%PDF-1.7\n" + b"\x00" * 100, b"<html>Report not found</html>", b"\xff" * 64],
)
def test_read_pdf_never_raises_on_junk(body: bytes) -> None:
    """Junk, truncated or HTML bodies give text_available=False instead of an exception."""
    facts = read_pdf(body)
    assert not facts.text_available and facts.report_type is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"%PDF-1.4\n", True),
        (b"\xef\xbb\xbf%PDF-1.4", True),
        (b"\r\n  %PDF-1.4", True),
        (b"<!DOCTYPE html>%PDF-", False),
        (b" " * 2000 + b"%PDF-1.4", False),
        (b"", False),
    ],
)
def test_is_pdf_checks_magic_after_whitespace(body: bytes, expected: bool) -> None:
    """%PDF- must open the body, after at most 1 KB of whitespace or a BOM."""
    assert is_pdf(body) is expected


def test_parse_report_text_adequate_is_not_inadequate() -> None:
    """A pre-2013 'Adequate' grade is not read as 'inadequate' (nor as any judgement)."""
    facts = parse_report_text("Overall effectiveness Adequate\nSafeguarding Adequate")
    assert facts.judgement is None


def test_parse_report_text_summary_is_short() -> None:
    """The summary stops at 300 characters even when the first sentence runs on."""
    text = "Headline findings\n" + "Leaders have worked hard " * 40 + "."
    summary = parse_report_text(text).summary
    assert summary is not None and len(summary) <= 300


def test_parse_report_text_wrapped_overall_judgement() -> None:
    """'Requires improvement / to be good' wrapped across lines is one judgement."""
    facts = parse_report_text("Overall effectiveness Requires improvement\nto be good\n")
    assert facts.judgement == "requires_improvement"


def test_read_pdf_class7_ilacs_mentioning_earlier_visits_is_an_inspection() -> None:
    """Class 7: an ILACS report recalling an earlier JTAI and focused visit types as inspection."""
    facts = read_pdf(build_case("ilacs_2024_mentions_jtai"))
    assert (facts.report_type, facts.judgement) == ("inspection", "good")


@pytest.mark.parametrize(
    ("case", "overall", "lscb"),
    [
        ("sif_2015_wrapped_grades", "requires_improvement", "inadequate"),
        ("sif_2015_footnote_grade", "good", "good"),
        ("reinspection_2017_require", "requires_improvement", None),
        ("sif_2016_colon_lines", "requires_improvement", "inadequate"),
        ("sif_2016_summary_of_judgements", "inadequate", "requires_improvement"),
        ("sif_2014_split_columns", "inadequate", "requires_improvement"),
    ],
)
def test_read_pdf_class8_sif_layouts_read_every_judgement(
    case: str, overall: str, lscb: str | None
) -> None:
    """Class 8: every SIF-era layout gives the council's overall grade, all five area grades,
    and the LSCB review's grade under its own key, never as the council's."""
    facts = read_pdf(build_case(case))
    assert facts.judgement == overall
    areas = {k: v for k, v in facts.sub_judgements.items() if k != LSCB}
    assert set(areas) == set(SIF_AREAS)
    assert facts.sub_judgements.get(LSCB) == lscb
    assert len(facts.visit_dates) == 2 and facts.visit_dates[0] < facts.visit_dates[1]


def test_parse_report_text_class8_adequate_is_never_inadequate() -> None:
    """Class 8: the pre-2013 grade 'adequate' is no grade at all, never 'inadequate'."""
    text = (
        "Inspection of safeguarding and looked after children services\nSafeguarding services\n"
        "Overall effectiveness: Adequate\nCapacity for improvement: Adequate\n"
        "The Local Safeguarding Children Board is adequate\n"
    )
    facts = parse_report_text(text)
    assert facts.judgement is None and facts.sub_judgements == {}


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("Inspection dates: 13 to 24 November 2017", "2017-11-24"),
        ("Inspection dates: 13 November – 1 December 2017", "2017-12-01"),
        ("Inspection dates: 31 October 2016 to 24 November 2016", "2016-11-24"),
        ("Inspection dates: 30 November 2015 to 7 January 2016", "2016-01-07"),
        ("Inspection dates: Monday 13 November to Friday 24 November 2017", "2017-11-24"),
        ("Inspection dates: 31 October 2016 to\n24 November 2016", "2016-11-24"),
        ("Inspection dates: 19 November 2018 to 30\nNovember 2018", "2018-11-30"),
        ("Dates of inspection: 13 – 24 November 2017", "2017-11-24"),
        (
            "This letter summarises the findings of the monitoring visit to Reading children’s"
            " services on Tuesday 13 and Wednesday 14 December 2016.",
            "2016-12-14",
        ),
    ],
)
def test_parse_report_text_class8_visit_end_date_in_every_form(text: str, end: str) -> None:
    """Class 8: the visit's last day is read exactly in every date-range form and layout."""
    dates = parse_report_text(text).visit_dates
    assert dates and dates[-1].isoformat() == end


def test_parse_report_text_class8_overall_is_the_first_judgement_not_the_narrative() -> None:
    """Class 8: the judgement table's overall grade wins over a later narrative sentence."""
    text = (
        "Inspection of Leeds local authority children’s services\n"
        "Inspection dates: 4 to 15 March 2024\n"
        "Overall effectiveness Requires improvement to be good\n"
        "Children’s services in Leeds are good at listening to children, but plans drift.\n"
    )
    assert parse_report_text(text).judgement == "requires_improvement"
