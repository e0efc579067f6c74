"""Property tests: normalisation and matching never crash, and surrounding text cannot hide
or invent a council mention."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.judge.classify import classify_text
from scraper.judge.councils import load_register, normalise_name
from scraper.judge.match import Matcher
from scraper.models import Item

REGISTER = load_register()
WATCHED = [
    c
    for c in (REGISTER.lookup(n) for n in ("West Berkshire", "Reading", "B&NES", "Hull", "BCP"))
    if c is not None
]
MATCHER = Matcher(WATCHED, REGISTER)

POSITIVES = [
    ("Ofsted inspected West Berkshire Council's children's services.", "West Berkshire"),
    ("Inspectors praised Reading's children's social care.", "Reading"),
    (
        "The focused visit to B&NES children's services found strengths.",
        "Bath and North East Somerset",
    ),
    ("Ofsted visited Hull City Council in May.", "Kingston upon Hull"),
    ("A monitoring visit to BCP Council found progress.", "Bournemouth, Christchurch and Poole"),
]
FILLER = ["ofsted", "report", "council", "the", "children", "visit", "inspectors", "good", "new"]

filler_words = st.lists(
    st.tuples(st.sampled_from(FILLER), st.booleans(), st.sampled_from([" ", "  ", "\n", "\t"])),
    max_size=12,
)


def _render(words: list[tuple[str, bool, str]]) -> str:
    return "".join((w.upper() if shout else w) + gap for w, shout, gap in words)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_normalise_name_never_crashes(text: str) -> None:
    """normalise_name returns a string for any input, and is idempotent on its output."""
    key = normalise_name(text)
    assert isinstance(key, str)
    assert normalise_name(key) == normalise_name(normalise_name(key))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.text(max_size=200))
def test_matcher_and_classifier_never_crash(title: str, body: str) -> None:
    """Matching and classifying arbitrary text returns values, never raises."""
    item = Item("p", "k", title, None, None, body=body)
    found = MATCHER.match(item)
    assert all(c in WATCHED for c in found.councils)
    assert isinstance(classify_text(title, body).relevant, bool)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(POSITIVES), filler_words, filler_words)
def test_matcher_positive_sentence_survives_surroundings(
    positive: tuple[str, str],
    before: list[tuple[str, bool, str]],
    after: list[tuple[str, bool, str]],
) -> None:
    """A positive sentence matches whatever the case or spacing of the words around it."""
    sentence, council = positive
    text = f"{_render(before)}. {sentence} {_render(after)}"
    names = [c.short_name for c in MATCHER.match_text(text, "body").councils]
    assert names == [council]


@settings(max_examples=200, deadline=None)
@given(filler_words)
def test_matcher_filler_alone_names_nothing(words: list[tuple[str, bool, str]]) -> None:
    """Ordinary words in any case and spacing never produce a council."""
    assert MATCHER.match_text(_render(words), "body").councils == ()
