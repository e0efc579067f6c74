"""Canonical URLs, story keys and content hashes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.judge.urls import canonical_url, content_hash, story_key


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://WWW.Example.COM/News/Story/", "https://www.example.com/News/Story"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a/?utm_source=rss&utm_medium=rss&utm_campaign=x",
         "https://example.com/a"),
        ("https://example.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&_hsenc=5&cmpid=6",
         "https://example.com/a"),
        ("https://example.com/a?ref=rss", "https://example.com/a"),
        ("https://example.com/a?ref=homepage", "https://example.com/a?ref=homepage"),
        ("https://news.google.com/rss/articles/CBMiX?oc=5", "https://news.google.com/rss/articles/CBMiX"),
        ("https://example.com/a?b=2&a=1&utm_term=z", "https://example.com/a?a=1&b=2"),
        ("https://example.com/search?q=children%27s+services", "https://example.com/search?q=children%27s+services"),
        ("https://user:pw@example.com/a", "https://example.com/a"),
        ("https://www.communitycare.co.uk/?p=216971", "https://www.communitycare.co.uk/?p=216971"),
        ("mailto:news@example.gov.uk", "mailto:news@example.gov.uk"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("", ""),
    ],
)  # fmt: skip
def test_canonical_url_normalises(raw: str, canonical: str) -> None:
    """Case, default ports, fragments, trailing slashes and tracking parameters are normalised."""
    assert canonical_url(raw) == canonical


def test_story_key_equal_for_variants_of_one_article() -> None:
    """http/https, www/no-www, trailing slash and tracking variants share one story key."""
    variants = [
        "https://www.kennetradio.com/2016/12/23/positive-improvements/",
        "http://kennetradio.com/2016/12/23/positive-improvements",
        "https://kennetradio.com/2016/12/23/positive-improvements/?utm_source=rss&utm_medium=rss",
        "https://WWW.KENNETRADIO.COM:443/2016/12/23/positive-improvements#respond",
        "https://www.kennetradio.com/2016/12/23/positive-improvements/?ref=rss",
    ]
    assert len({story_key(v) for v in variants}) == 1


def test_story_key_differs_for_different_articles() -> None:
    """Different paths or meaningful queries stay different stories."""
    assert story_key("https://e.test/a") != story_key("https://e.test/b")
    assert story_key("https://e.test/?p=1") != story_key("https://e.test/?p=2")


def test_content_hash_ignores_whitespace_layout_only() -> None:
    """Hashes match across whitespace changes, differ across text changes and part splits."""
    assert content_hash("A  title\n", "body") == content_hash("A title", " body ")
    assert content_hash("A title", "body") != content_hash("A title", "body!")
    assert content_hash("ab", "c") != content_hash("a", "bc")
    assert len(content_hash("x")) == 64


@settings(database=None)  # no example database in the source tree
@given(st.text())
def test_canonical_url_is_idempotent(raw: str) -> None:
    """Canonicalising twice gives the same URL as canonicalising once."""
    once = canonical_url(raw)
    assert canonical_url(once) == once


@settings(database=None)
@given(
    st.sampled_from(["http", "https"]),
    st.sampled_from(["www.", ""]),
    st.from_regex(r"/[a-z0-9-]{1,20}(/[a-z0-9-]{1,20}){0,3}", fullmatch=True),
    st.sampled_from(["", "/", "/?utm_source=rss", "#top", "?oc=5"]),
)
def test_story_key_stable_under_variants(scheme: str, www: str, path: str, tail: str) -> None:
    """Any scheme/www/suffix variant of a path maps to the same story key as the bare URL."""
    assert story_key(f"{scheme}://{www}example.org{path}{tail}") == story_key(
        f"https://example.org{path}"
    )
