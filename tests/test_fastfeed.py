"""The lxml fast path gives exactly feedparser's items, and leaves to feedparser what it cannot."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scraper.errors import ParseError
from scraper.ingest.sources.fastfeed import parse_fast
from scraper.ingest.sources.feed import parse_feed

TESTS = Path(__file__).parent
FEED_SUFFIXES = {".xml", ".atom", ".rdf", ".rss"}
FEEDS = sorted(
    p
    for root in (TESTS / "fixtures", TESTS / "corpus")
    for p in root.rglob("*")
    if p.suffix in FEED_SUFFIXES
)
HEADERS = (
    {},
    {"content-type": "application/rss+xml"},
    {"content-type": "application/atom+xml; charset=UTF-8"},
    {"content-type": "text/xml; charset=utf-8"},
    {"content-type": "text/xml"},
    {"content-type": "text/html"},
)
URL = "https://example.org/feed/"

sys.path.insert(0, str(TESTS.parent / "bench"))
from feedworld import lean_feed, window_feed  # noqa: E402


def _outcome(body: bytes, headers: dict[str, str], *, fast: bool) -> Any:
    """Everything parse_feed yields about items, or the error it raises."""
    try:
        parsed = parse_feed(body, headers, source="s", url=URL, fast=fast)
    except ParseError as exc:
        return ("error", str(exc))
    return parsed.items, parsed.warnings  # Items compare every field


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: str(p.relative_to(TESTS)))
def test_fast_path_items_equal_feedparser_items(path: Path) -> None:
    """Every feed fixture, served with any common content type, parses to identical items
    (title, link, identity, dates, summary, body, categories) and warnings both ways."""
    body = path.read_bytes()
    for headers in HEADERS:
        assert _outcome(body, headers, fast=True) == _outcome(body, headers, fast=False), headers


@pytest.mark.parametrize(
    "name",
    [
        "news/communitycare_feed.xml",
        "news/council_wp_feed.xml",
        "news/council_rdf.rdf",
        "govuk/ofsted_org.atom",
        "news/dedupe_google_news.xml",
    ],
)
def test_fast_path_reads_common_real_feeds(name: str) -> None:
    """The WordPress, RDF, GOV.UK Atom and Google News shapes take the fast path."""
    body = (TESTS / "fixtures" / name).read_bytes()
    parsed = parse_fast(body, {"content-type": "application/rss+xml"})
    assert parsed is not None and parsed["entries"]


def test_fast_path_reads_the_bench_feeds() -> None:
    """The benchmark's WordPress-style feeds take the fast path, items equal to feedparser's."""
    for body in (lean_feed(), window_feed(3, 7)):
        assert parse_fast(body, {"content-type": "application/rss+xml"}) is not None
        headers = {"content-type": "application/rss+xml"}
        assert _outcome(body, headers, fast=True) == _outcome(body, headers, fast=False)


@pytest.mark.parametrize(
    "name",
    [
        "hostile/truncated.xml",
        "hostile/unescaped_ampersand.xml",
        "hostile/billion_laughs.xml",
        "hostile/xxe.xml",
        "hostile/quadratic_entity.xml",
    ],
)
def test_fast_path_leaves_broken_and_hostile_xml_to_feedparser(name: str) -> None:
    """A malformed document, or one with a DOCTYPE or entities, is never read by the fast path."""
    body = (TESTS / "fixtures" / name).read_bytes()
    assert parse_fast(body, {}) is None


def test_fast_path_leaves_unknown_item_elements_to_feedparser() -> None:
    """An item element the fast path does not know (media:title here) sends the feed to
    feedparser, which maps it to the title."""
    body = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        b"<channel><title>t</title><item><media:title>Only here</media:title>"
        b"<link>https://example.org/a</link></item></channel></rss>"
    )
    assert parse_fast(body, {}) is None
    (item,) = parse_feed(body, {}, source="s", url=URL).items
    assert item.title == "Only here"


def test_fast_path_copies_feedparser_quirks() -> None:
    """First non-empty title wins, a permalink guid stands in for the link, content fills an
    absent summary, mis-decoded UTF-8 is repaired, and a date only feedparser reads is read
    by feedparser's date parser, as feedparser does."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>'
        "<item><title></title><title>Café news</title><title>second</title>"
        "<guid>https://example.org/p/1</guid><pubDate>20261116T090000Z</pubDate>"
        "<content:encoded><![CDATA[<p>Body \u00c3\u00a9 text</p>]]></content:encoded></item>"
        "</channel></rss>"
    ).encode()
    assert parse_fast(body, {}) is not None
    assert _outcome(body, {}, fast=True) == _outcome(body, {}, fast=False)
    (item,) = parse_feed(body, {}, source="s", url=URL).items
    assert (item.title, item.url, item.summary, item.published) == (
        "Café news",
        "https://example.org/p/1",
        "Body é text",
        datetime(2026, 11, 16, tzinfo=UTC),
    )
