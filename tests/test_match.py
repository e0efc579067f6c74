"""Tests for the council matcher: reference name cases, ordering, evidence and speed."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from scraper.judge.councils import Register, load_register
from scraper.judge.match import NOT_FOLLOWED_BY, Matcher, _initial, _names_pattern, term_pattern
from scraper.models import Item

REF = Path(__file__).parent / "fixtures" / "ref" / "name_matching_cases.json"
CASES: dict[str, Any] = json.loads(REF.read_text(encoding="utf-8"))


def _watch(register: Register, names: list[str]) -> Matcher:
    watched = [register.lookup(n) for n in names]
    assert all(watched)
    return Matcher([c for c in watched if c is not None], register)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return _watch(load_register(), CASES["watchlist"])


def _item(title: str, summary: str = "", body: str = "") -> Item:
    return Item("test", "k", title, None, None, summary=summary, body=body)


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["text"] for c in CASES["cases"]])
def test_matcher_reference_cases(matcher: Matcher, case: dict[str, Any]) -> None:
    """Every reference string names exactly the expected watched councils, in order."""
    found = matcher.match_text(case["text"], "body")
    assert [c.short_name for c in found.councils] == case["councils"]


def test_matcher_reports_only_watched(matcher: Matcher) -> None:
    """Councils not on the watchlist are never reported, even when named."""
    found = matcher.match_text("Wokingham and Slough Borough Council", "body")
    assert found.councils == ()


def test_matcher_title_council_comes_first(matcher: Matcher) -> None:
    """A council in the title is the main council even if another is mentioned more often."""
    item = _item("St Helens monitoring visit", body="Reading Reading Reading and St Helens")
    names = [c.short_name for c in matcher.match(item).councils]
    assert names == ["St Helens", "Reading"]


def test_matcher_orders_by_count_then_position(matcher: Matcher) -> None:
    """Without a title hit, the most-mentioned council comes first, then the earliest."""
    body = "West Berkshire and Reading. Reading again. St Helens."
    names = [c.short_name for c in matcher.match(_item("News", body=body)).councils]
    assert names == ["Reading", "West Berkshire", "St Helens"]


def test_matcher_evidence_records_text_and_place(matcher: Matcher) -> None:
    """Evidence keeps the text as written, the field and the offset."""
    found = matcher.match(_item("Ofsted news", summary="About B&NES services"))
    (evidence,) = found.evidence
    assert evidence.council == "Bath and North East Somerset"
    assert evidence.text == "B&NES"
    assert evidence.where == "summary"
    assert evidence.offset == 6


def test_matcher_shared_body_goes_to_every_watched_sharer() -> None:
    """Achieving for Children alone names every watched council it serves."""
    register = load_register()
    matcher = _watch(register, ["Kingston upon Thames", "Windsor and Maidenhead", "Reading"])
    names = {c.short_name for c in matcher.match_text("AfC social workers", "body").councils}
    assert names == {"Kingston upon Thames", "Windsor and Maidenhead"}
    named = matcher.match_text("Achieving for Children in Kingston upon Thames", "body")
    assert [c.short_name for c in named.councils] == ["Kingston upon Thames"]


def test_matcher_longer_unwatched_name_blocks_shorter_watched() -> None:
    """ "North Somerset" is not Somerset, though "Somerset" is watched."""
    matcher = _watch(load_register(), ["Somerset"])
    assert matcher.match_text("North Somerset Council", "body").councils == ()
    assert len(matcher.match_text("Somerset Council", "body").councils) == 1


def test_matcher_empty_watchlist_matches_nothing() -> None:
    """A matcher with no watched councils never reports one."""
    assert Matcher([]).match_text("Reading Borough Council", "body").councils == ()


def test_term_pattern_tolerates_variants() -> None:
    """A name pattern accepts "&" for "and", "St." for "St" and curly apostrophes."""
    import re

    assert re.fullmatch(term_pattern("Windsor and Maidenhead"), "Windsor & Maidenhead", re.I)
    assert re.fullmatch(term_pattern("St Helens"), "St. Helens", re.I)
    assert re.fullmatch(
        term_pattern("Sandwell Children's Trust"), "Sandwell Children’s Trust", re.I
    )
    assert re.fullmatch(term_pattern("BFfC"), "BFFC", re.I) is None


def test_rule_tables_are_data() -> None:
    """The exclusion rules are plain tables keyed by folded name, so they can grow."""
    assert "reading" in NOT_FOLLOWED_BY
    assert all(isinstance(p, str) for rules in NOT_FOLLOWED_BY.values() for p in rules)


def test_matcher_is_fast(matcher: Matcher) -> None:
    """Matching a long article takes milliseconds (bound generous for slow machines)."""
    body = ("Ofsted inspectors visited children's services in the area. " * 200) + "Reading."
    item = _item("Council news", body=body)
    start = time.perf_counter()
    for _ in range(50):
        matcher.match(item)
    assert time.perf_counter() - start < 5.0  # about 0.1 s here; 5 s allows a slow CI box


def _spellings(name: str) -> list[str]:
    return [name, name.upper(), name.lower(), f"{name}'s", name.replace("St ", "St. ")]


def test_matcher_first_letter_groups_find_what_one_alternation_finds() -> None:
    """Grouping every register name by first letter finds exactly the plain alternation's spans."""
    names = [
        name
        for council in load_register().all()
        for name in (council.name, council.short_name, *council.aliases, *council.delivery_bodies)
    ]
    surfaces = {term_pattern(name): name for name in names}
    grouped = _names_pattern(surfaces, {p: _initial(n) for p, n in surfaces.items()})
    plain = _names_pattern(surfaces, {})  # no known first letters: one plain alternation
    assert grouped.pattern != plain.pattern
    text = " and ".join(s for name in names for s in _spellings(name)) + " (Reading-Hull)"
    spans = [m.span() for m in grouped.finditer(text)]
    assert spans == [m.span() for m in plain.finditer(text)]
    assert len(spans) >= 4 * len(set(names))


def test_matcher_initial_is_unknown_for_and_names() -> None:
    """A name starting with "&" or "and" (which match each other) has no first-letter group."""
    assert _initial("& Partners") == ""
    assert _initial("And Council") == ""
    assert _initial("St Helens") == "s"  # "St." and "Saint" both start with s
    assert _initial("BCP") == "b"


def test_matcher_shared_town_needs_context_and_names_no_guess() -> None:
    """ "Kingston" alone is never guessed; the source's council, a trust or a place decides."""
    register = load_register()
    matcher = _watch(register, ["Kingston upon Thames", "Kingston upon Hull"])
    alone = matcher.match_text("Kingston children's services rated good", "body")
    assert alone.councils == ()
    assert alone.reasons == (
        'ambiguous "Kingston" (Kingston upon Hull or Kingston upon Thames): '
        "nothing in the story says which",
    )
    thames = register.lookup("Kingston upon Thames")
    assert thames is not None
    sourced = matcher.match_text("Kingston rated good", "body", context=[thames])
    assert [c.short_name for c in sourced.councils] == ["Kingston upon Thames"]
    humber = matcher.match_text("Kingston services in East Yorkshire", "body")
    assert [c.short_name for c in humber.councils] == ["Kingston upon Hull"]
    trust = matcher.match_text("AfC social workers in Kingston", "body")
    assert [c.short_name for c in trust.councils] == ["Kingston upon Thames"]


def test_matcher_source_councils_stand_in_unless_another_council_is_named() -> None:
    """A newsroom's own council is the item's council when the text names none, not when it
    names another council (watched or not)."""
    register = load_register()
    kent, medway = register.lookup("Kent"), register.lookup("Medway")
    assert kent is not None and medway is not None
    matcher = Matcher([kent, medway], register)
    own = matcher.match_text("Our children's services rated good", "body", context=[kent])
    assert [c.short_name for c in own.councils] == ["Kent"]
    assert own.evidence[0].where == "source"
    other = matcher.match_text("Medway rated good", "body", context=[kent])
    assert [c.short_name for c in other.councils] == ["Medway"]
    unwatched = matcher.match_text("Sandwell rated good", "body", context=[kent])
    assert unwatched.councils == ()
    assert unwatched.reasons == ("council not on the watchlist: Sandwell",)


def test_matcher_other_bodies_and_phrases_are_not_the_council() -> None:
    """Police forces, probation areas, health bodies and a trust name used as a phrase do not
    name the council; the council's own name beside them does."""
    register = load_register()
    watched = [register.lookup(n) for n in ("Kent", "Surrey", "Sunderland", "Devon")]
    matcher = Matcher([c for c in watched if c is not None], register)
    for text in (
        "Kent Police said",
        "probation across Kent, Surrey and Sussex",
        "Kent, Surrey and Sussex Community Rehabilitation Company",
        "Surrey and Borders Partnership NHS Foundation Trust",
        "Devon and Cornwall Police",
        "partners come together for children",
    ):
        assert matcher.match_text(text, "body").councils == (), text
    both = matcher.match_text("Kent Police and Kent County Council", "body")
    assert [c.short_name for c in both.councils] == ["Kent"]
    trust = matcher.match_text("Together for Children was rated good", "body")
    assert [c.short_name for c in trust.councils] == ["Sunderland"]


def test_matcher_watchlist_aliases_name_their_council() -> None:
    """A [watchlist] alias names its council when watched; the register's towns do too."""
    register = load_register()
    hereford = register.lookup("Herefordshire")
    assert hereford is not None
    matcher = Matcher([hereford], register, aliases={"Ledbury": hereford})
    found = matcher.match_text("Ledbury and Hereford families", "body")
    assert [e.text for e in found.evidence] == ["Ledbury", "Hereford"]
