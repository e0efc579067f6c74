"""Tests for classification: vocabulary cases, relevance rules and judgements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scraper.classify import classify, classify_text, monitoring_ordinal
from scraper.models import JUDGEMENTS, REPORT_TYPES, Item

REF = Path(__file__).parent / "fixtures" / "ref" / "vocab_cases.json"
CASES: list[dict[str, Any]] = json.loads(REF.read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["title"] or c["text"][:50] for c in CASES])
def test_classify_vocab_cases(case: dict[str, Any]) -> None:
    """Each reference phrase gives the expected report type, judgement and visit ordinal."""
    result = classify_text(case["title"], case["text"])
    assert result.report_type == case["report_type"]
    assert result.judgement == case["judgement"]
    assert monitoring_ordinal(f"{case['title']}\n{case['text']}") == case["ordinal"]


def test_classify_values_are_in_the_shared_vocabulary() -> None:
    """Report types and judgements are always values the models module lists."""
    for case in CASES:
        result = classify_text(case["title"], case["text"])
        assert result.report_type in (*REPORT_TYPES, None)
        assert result.judgement in (*JUDGEMENTS, None)


def test_classify_needs_ofsted_context() -> None:
    """A children's services story with no inspection wording is not relevant."""
    result = classify_text("Council budget", "More money for children's services.")
    assert not result.relevant
    assert result.reasons == ("no Ofsted context",)


def test_classify_school_story_not_relevant() -> None:
    """An Ofsted school inspection is not a children's services story."""
    text = "Ofsted said pupils at the school are safe; the headteacher thanked teachers."
    assert not classify_text("School rated good by Ofsted", text).relevant


def test_classify_area_send_mentions_of_schools_allowed() -> None:
    """An area SEND inspection stays relevant though it talks about schools."""
    text = "Ofsted's area SEND inspection heard from schools, schools and more schools."
    result = classify_text("Area SEND inspection", text)
    assert result.relevant
    assert result.report_type == "area_send"


def test_classify_adequate_is_not_inadequate() -> None:
    """The old framework's "adequate" grade never reads as inadequate."""
    result = classify_text("'Adequate' Ofsted rating for council's child protection service", "")
    assert result.report_type == "inspection"
    assert result.judgement is None


def test_classify_no_longer_inadequate_and_dated_grades_are_history() -> None:
    """ "No longer inadequate" and "judged inadequate in 2016" do not give inadequate."""
    text = "Children's services in Reading, judged inadequate in 2016, are now good, Ofsted says."
    assert classify_text("Ofsted report", text).judgement == "good"
    assert classify_text("Services no longer inadequate", "Ofsted report.").judgement is None


def test_classify_curly_and_straight_apostrophes_agree() -> None:
    """Curly and straight apostrophes classify identically."""
    straight = classify_text("Council's children's services rated 'inadequate'", "Ofsted")
    curly = classify_text("Council’s children’s services rated ‘inadequate’", "Ofsted")
    assert straight == curly
    assert straight.judgement == "inadequate"


def test_classify_item_uses_summary_and_body() -> None:
    """classify reads the item's summary and body as well as its title."""
    item = Item(
        "s",
        "k",
        "Council news",
        None,
        None,
        summary="Ofsted monitoring visit",
        body="Children's services are improving.",
    )
    result = classify(item)
    assert result.relevant
    assert result.report_type == "monitoring_visit"


def test_classify_unrelated_text_has_no_type() -> None:
    """Text with no inspection wording gets no report type."""
    assert classify_text("Weather", "Sunny spells.").report_type is None
