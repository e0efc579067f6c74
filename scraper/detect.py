"""Turn classified items and parsed reports into detections with stable ids. Pure.

The id is the identity of the *story* or *report*, not of the feed entry: the same report seen
via the Ofsted site twice, or one story via three feeds and a Google News redirect, must map
to one id so that the database's primary key lets only the first one through.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from scraper.models import Classification, Council, CouncilMatch, Detection, Item, Report
from scraper.urls import story_key

_PUBLISHER_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,60}$")
_NON_WORD = re.compile(r"[^a-z0-9]+")
REDIRECT_HOSTS = frozenset({"news.google.com"})


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def title_key(title: str, publisher: str | None = None) -> str:
    """A title reduced to lower-case words, without a trailing "- Publisher"."""
    text = unicodedata.normalize("NFKC", title)
    if publisher and text.endswith(publisher):
        text = text[: -len(publisher)].rstrip(" -–—|")
    elif publisher is None:
        text = _PUBLISHER_SUFFIX.sub("", text) if text.count(" - ") == 1 else text
    return _NON_WORD.sub(" ", text.lower().replace("’", "'")).strip()[:300]


def item_story_key(item: Item) -> str | None:
    """The article's own URL identity; None when the link is only a redirect (Google News)."""
    if not item.url:
        return None
    host = (urlsplit(item.url).hostname or "").lower()
    if host in REDIRECT_HOSTS:
        return None
    return story_key(item.url)


def news_detection_id(item: Item) -> str:
    key = item_story_key(item)
    if key:
        return f"news:{_hash(key)}"
    return f"news:t:{_hash(title_key(item.title, item.publisher))}"


def news_detection(
    item: Item,
    cls: Classification,
    match: CouncilMatch,
    *,
    now: datetime,
    detection_id: str | None = None,
) -> Detection:
    return Detection(
        id=detection_id or news_detection_id(item),
        kind="news_article",
        report_type=cls.report_type,
        councils=match.councils,
        title=item.title,
        url=item.url,
        published=item.published.date() if item.published else None,
        source=item.source,
        first_seen=now,
        judgement=cls.judgement,
        summary=_short(item.summary or item.body),
        evidence=match.evidence,
    )


def report_detection(report: Report, council: Council, *, source: str, now: datetime) -> Detection:
    return Detection(
        id=report.key,
        kind="ofsted_report",
        report_type=report.report_type,
        councils=(council,),
        title=report.label,
        url=report.url,
        published=report.published,
        source=source,
        first_seen=now,
        visit_dates=report.visit_dates,
        judgement=report.judgement,
        summary=report.summary,
    )


def councils_by_urn(watched: Sequence[Council]) -> Mapping[str, Council]:
    return {c.ofsted_urn: c for c in watched if c.ofsted_urn}


def _short(text: str, limit: int = 300) -> str | None:
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"
