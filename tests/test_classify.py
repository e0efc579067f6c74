"""Tests for classification: vocabulary cases, relevance rules and judgements."""

from __future__ import annotations

import json
import re
import re._constants as K  # private, test-only: see test_classify_leads_admit_every_match
import re._parser as P
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scraper.judge import background as B
from scraper.judge import classify as C
from scraper.judge.classify import classify, classify_text, monitoring_ordinal
from scraper.judge.textnorm import gate_text
from scraper.models import JUDGEMENTS, REPORT_TYPES, Classification, Item

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


def _guarded_patterns() -> dict[str, re.Pattern[str]]:
    """Module patterns behind a lead lookahead, by name."""
    found = {
        name: value
        for module in (C, B)
        for name, value in vars(module).items()
        if isinstance(value, re.Pattern) and value.pattern.startswith("(?=[")
    }
    assert len(found) >= 12
    return found


GUARDED = _guarded_patterns()
GATED: dict[str, tuple[str, ...]] = {
    "OFSTED": C.OFSTED_WORDS,
    "INSPECTOR_VISIT": C.OFSTED_WORDS,
    "OFSTED_GRADES": C.OFSTED_WORDS,
    "STRONG_TYPE": C.TYPE_WORDS,
    "INSPECTION_STRONG": C.TYPE_WORDS,
    "INSPECTION_WEAK": C.TYPE_WORDS,
    "CHILDRENS_HOME": ("home",),
    "SCHOOL": C.SCHOOL_WORDS,
    "HISTORY": ("since",),
}


def _unguarded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern without its lead lookahead."""
    return re.compile(pattern.pattern[pattern.pattern.index("])") + 2 :], pattern.flags)


def _firsts(items: Any) -> tuple[set[object], bool]:
    """Characters (lower-cased) or categories a parsed regex can start with; and if it can be
    empty. Anything unbounded (".", negated classes) fails the test."""
    found: set[object] = set()
    for op, arg in items:
        if op in (K.AT, K.ASSERT, K.ASSERT_NOT):
            continue
        if op is K.LITERAL:
            return found | {chr(arg).lower()}, False
        if op is K.IN:
            return found | _class_members(arg), False
        if op is K.SUBPATTERN:
            more, empty = _firsts(arg[-1])
        elif op is K.BRANCH:
            parts = [_firsts(branch) for branch in arg[1]]
            more, empty = set().union(*(p[0] for p in parts)), any(p[1] for p in parts)
        elif op in (K.MAX_REPEAT, K.MIN_REPEAT):
            more, empty = _firsts(arg[2])
            empty = empty or arg[0] == 0
        else:
            raise AssertionError(f"cannot bound the first character of {op}")
        found |= more
        if not empty:
            return found, False
    return found, True


def _class_members(arg: Any) -> set[object]:
    members: set[object] = set()
    for op, value in arg:
        if op is K.LITERAL:
            members.add(chr(value).lower())
        elif op is K.RANGE:
            members.update(chr(c).lower() for c in range(value[0], value[1] + 1))
        elif op is K.CATEGORY:
            members.add(value)
        else:
            raise AssertionError(f"cannot list the class member {op}")
    return members


def _check_leads(items: Any) -> int:
    """Assert that each lookahead admits every first character of what follows it; count them."""
    checked = 0
    items = list(items)
    for i, (op, arg) in enumerate(items):
        if op is K.ASSERT and arg[0] == 1:  # a lookahead (-1 would be a lookbehind)
            lead, _ = _firsts(arg[1])
            starts, empty = _firsts(items[i + 1 :])
            assert not empty
            assert starts <= lead, sorted(map(str, starts - lead))
            checked += 1
        if op is K.SUBPATTERN:
            checked += _check_leads(arg[-1])
        elif op is K.BRANCH:
            checked += sum(_check_leads(branch) for branch in arg[1])
        elif op in (K.MAX_REPEAT, K.MIN_REPEAT):
            checked += _check_leads(arg[2])
    return checked


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_classify_leads_admit_every_match(name: str) -> None:
    """Every first-character lead holds each character the alternatives after it can start with."""
    # re._parser is private, but it is the one exact way to read a pattern's first characters
    # (Python 3.11 is pinned); a sampled property test missed leads short by one letter.
    pattern = GUARDED[name]
    assert _check_leads(P.parse(pattern.pattern, pattern.flags)) >= 1


@pytest.mark.parametrize("name", sorted(GATED))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_classify_gate_words_cover_every_match(name: str, data: st.DataObject) -> None:
    """Every match of a gated pattern contains one of its gate words, so the gates lose nothing."""
    text = data.draw(st.from_regex(_unguarded(GUARDED[name])))
    assume(GUARDED[name].search(text))
    assert any(word in gate_text(text) for word in GATED[name]), (name, text)


def test_classify_gate_text_keeps_letters_re_i_equates() -> None:
    """Dotless i, long s and dotted capital I still spell the gate words after folding."""
    text = "OFſTED İNSPECTİON ınadequate"
    assert C.OFSTED.search(text) and C.OFSTED_GRADES.search(text)
    folded = gate_text(text)
    assert all(word in folded for word in ("ofsted", "inspection", "inadequate"))


def test_classify_gates_skip_unrelated_news() -> None:
    """A story with no Ofsted or type wording is irrelevant and untyped, as without the gates."""
    result = classify_text("Bin collections change", "Council confirms new rota from May.")
    assert result == Classification(False, None, None, ("no Ofsted context",))


def test_classify_since_clause_grade_is_history() -> None:
    """A grade in a "since … judged" clause is neither the type wording nor the judgement."""
    title = "Reading's children's services have improved since it was judged inadequate"
    result = classify_text(title, "Inspectors said so after a monitoring visit.")
    assert (result.report_type, result.judgement) == ("monitoring_visit", None)
    later = classify_text("Since it was judged inadequate, Ofsted has rated services good", "")
    assert later.judgement == "good"


def test_classify_still_requires_improvement_is_a_judgement() -> None:
    """ "Services still 'require improvement'", quoted or not, is an inspection judgement."""
    for title in (
        "Ofsted: Reading children’s services still ‘require improvement’ - BBC",
        "Reading children's services still require improvement, says Ofsted",
    ):
        result = classify_text(title, "")
        assert (result.report_type, result.judgement) == ("inspection", "requires_improvement")


def test_classify_reasons_name_the_words_and_the_field() -> None:
    """A relevant story's reasons quote the deciding words and say which field held them."""
    item = Item(
        "t",
        "k",
        "Family services rated 'outstanding'",
        None,
        None,
        summary="The council's children's services were inspected.",
        body="Ofsted inspectors praised social workers.",
    )
    result = classify(item)
    assert result.relevant
    assert result.reasons == (
        'Ofsted: "Ofsted" in body',
        'children\'s services: "Family services" in title',
        'type inspection: "rated \'outstanding" in title',
        'judgement outstanding: "rated \'outstanding" in title',
    )


@pytest.mark.parametrize(
    ("title", "text", "reason"),
    [
        (
            "Improvement notice issued to Norfolk County Council",
            "Ofsted judged its children's services inadequate.",
            'DfE intervention, not an Ofsted visit ("Improvement notice" in title)',
        ),
        (
            "Senior social worker, children in care",
            "Salary £42,000. Our children's services are rated good by Ofsted. Apply now.",
            "recruitment or careers item citing a past rating, not an Ofsted visit",
        ),
        (
            "Council faces £40m overspend",
            "Children's services were rated requires improvement by Ofsted in 2022.",
            'budget or policy story recalling an old inspection ("£4" in title)',
        ),
        (
            "New director of children's services appointed",
            "Children's services were judged good at their last inspection in 2022 by Ofsted.",
            "Ofsted mentioned only as past background",
        ),
    ],
)
def test_classify_not_a_visit_says_which_rule(title: str, text: str, reason: str) -> None:
    """Interventions, adverts, budget and background stories are skipped with their rule."""
    result = classify_text(title, text)
    assert not result.relevant
    assert result.reasons == (reason,)


def test_classify_joint_and_send_wording_without_ofsted() -> None:
    """Joint inspectorates and area SEND outcome wording type a story without "Ofsted"."""
    jtai = classify_text(
        "Four watchdogs examine how agencies protect children",
        "A joint inspection by the inspectorates of social care, health and police.",
    )
    assert (jtai.relevant, jtai.report_type) == (True, "jtai")
    send = classify_text(
        "SEND support failing children, report finds",
        "Inspectors found widespread and systemic failings in the local area partnership.",
    )
    assert (send.relevant, send.report_type) == (True, "area_send")
