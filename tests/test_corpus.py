"""The labelled news corpus: matching and classification must get every item right.

Precision and recall are over "relevant story about these watched councils": an item is a
predicted positive when classify says relevant and the matcher names at least one watched
council, and a true positive when the labels agree on both and on the exact council set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scraper.judge.classify import classify
from scraper.judge.councils import load_register
from scraper.judge.match import Matcher
from scraper.models import Item

CORPUS = Path(__file__).parent / "corpus" / "news_items.json"


def _load() -> dict[str, Any]:
    return json.loads(CORPUS.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


DATA = _load()
ITEMS: list[dict[str, Any]] = DATA["items"]


def _item(entry: dict[str, Any]) -> Item:
    return Item(
        source="corpus",
        key=entry["id"],
        title=entry["title"],
        url=None,
        published=None,
        summary=entry["summary"],
        body=entry["body"],
        publisher=entry.get("publisher"),
    )


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    register = load_register()
    watched = []
    for name in DATA["watchlist"]:
        council = register.lookup(name)
        assert council is not None, name
        watched.append(council)
    return Matcher(watched, register)


def test_corpus_is_large_and_covers_traps() -> None:
    """The corpus has at least 90 items and names every trap the matcher must survive."""
    assert len(ITEMS) >= 90
    assert len({e["id"] for e in ITEMS}) == len(ITEMS)
    traps = {t for e in ITEMS for t in e["traps"]}
    for trap in (
        "seed",
        "worth reading",
        "sentence-initial Reading",
        "READ MORE",
        "Reading, Pennsylvania",
        "Reading FC",
        "Reading Festival",
        "Berkshire alone",
        "Berkshire West Safeguarding Children Partnership",
        "Kingston alone",
        "school story",
        "Hull school story",
        "children's home",
        "adequate is not inadequate",
    ):
        assert trap in traps, trap


@pytest.mark.parametrize("entry", ITEMS, ids=[e["id"] for e in ITEMS])
def test_corpus_item_councils(matcher: Matcher, entry: dict[str, Any]) -> None:
    """Each item names exactly the labelled watched councils, the first label first."""
    found = [c.short_name for c in matcher.match(_item(entry)).councils]
    expected = entry["labels"]["councils"]
    assert sorted(found) == sorted(expected)
    if expected:
        assert found[0] == expected[0]


@pytest.mark.parametrize("entry", ITEMS, ids=[e["id"] for e in ITEMS])
def test_corpus_item_classification(entry: dict[str, Any]) -> None:
    """Each item gets the labelled relevance, and relevant items the labelled type and grade."""
    result = classify(_item(entry))
    labels = entry["labels"]
    assert result.relevant == labels["relevant"], result.reasons
    if labels["relevant"]:
        assert result.report_type == labels["report_type"]
        assert result.judgement == labels["judgement"]


def test_corpus_precision_and_recall(matcher: Matcher) -> None:
    """Precision and recall of relevant-story-with-the-right-councils are both exactly 1.0."""
    true_pos = pred_pos = actual_pos = 0
    for entry in ITEMS:
        item = _item(entry)
        found = {c.short_name for c in matcher.match(item).councils}
        predicted = classify(item).relevant and bool(found)
        labels = entry["labels"]
        actual = labels["relevant"] and bool(labels["councils"])
        pred_pos += predicted
        actual_pos += actual
        true_pos += predicted and actual and found == set(labels["councils"])
    precision = true_pos / pred_pos if pred_pos else 0.0
    recall = true_pos / actual_pos if actual_pos else 0.0
    print(f"corpus items={len(ITEMS)} positives={actual_pos} precision={precision} recall={recall}")
    assert precision == 1.0
    assert recall == 1.0


def test_corpus_childrens_home_included_on_request() -> None:
    """A single children's home story becomes relevant only when homes are asked for."""
    entry = next(e for e in ITEMS if e["id"] == "reading-childrens-home")
    assert not classify(_item(entry)).relevant
    assert classify(_item(entry), include_childrens_homes=True).relevant
