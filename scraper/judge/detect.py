"""Turn classified items and parsed reports into detections with stable ids. Pure.

The id is the identity of the *story* or *report*, not of the feed entry: the same report seen
via the Ofsted site twice, or one story via three feeds and a Google News redirect, must map
to one id so that the database's primary key lets only the first one through.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scraper.judge.urls import story_key
from scraper.models import Classification, Council, CouncilMatch, Detection, Item, Report

_PUBLISHER_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,60}$")
_NON_WORD = re.compile(r"[^a-z0-9]+")
REDIRECT_HOSTS = frozenset({"news.google.com"})
# Token Jaccard at or above which two titles from one publisher about the same councils are
# one story: Google News titles come from the page's <title>, which often differs from the
# feed's headline by a word or by punctuation; different stories share far fewer words.
MERGE_SIMILARITY = 0.8


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
    """The item's link with tracking, scheme, www. and trailing-slash noise removed.

    For a Google News redirect this names the redirect, which Google keeps stable for an
    article; it is never the publisher's URL, so other feeds are matched to it by title.
    """
    return story_key(item.url) if item.url else None


def _host(url: str | None) -> str | None:
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.") if url else ""
    return host or None


def publisher_host(item: Item) -> str | None:
    """The publisher's host: the link's own, or Google News's `<source url>` behind a redirect."""
    host = _host(item.url)
    if host in REDIRECT_HOSTS:
        return _host(item.publisher_url)
    return host


def news_detection_id(item: Item) -> str:
    key = item_story_key(item)
    if key:
        return f"news:{_hash(key)}"
    return f"news:t:{_hash(title_key(item.title, item.publisher))}"


@dataclass(frozen=True, slots=True)
class StoryRef:
    """What story identity needs of a news detection: its title, publisher and councils."""

    id: str
    title_key: str
    host: str | None  # None when only a redirect is known
    councils: frozenset[str]  # GSS codes
    first_seen: datetime


def story_ref(
    item: Item, councils: Iterable[Council], detection_id: str, now: datetime
) -> StoryRef:
    return StoryRef(
        id=detection_id,
        title_key=title_key(item.title, item.publisher),
        host=publisher_host(item),
        councils=frozenset(c.gss_code for c in councils),
        first_seen=now,
    )


def story_ref_from_row(row: Mapping[str, Any]) -> StoryRef:
    """A stored detection row (Store.detections) as a StoryRef."""
    host = _host(row.get("url"))
    first_seen: datetime = row["first_seen"]
    if first_seen.tzinfo is None:  # SQLite hands back naive UTC
        first_seen = first_seen.replace(tzinfo=UTC)
    return StoryRef(
        id=row["id"],
        title_key=row.get("title_key") or title_key(row.get("title") or ""),
        host=None if host in REDIRECT_HOSTS else host,
        councils=frozenset(
            str(c["gss_code"]) for c in row.get("councils") or [] if c.get("gss_code")
        ),
        first_seen=first_seen,
    )


def _tokens(key: str) -> frozenset[str]:
    return frozenset(t for t in key.split() if len(t) > 1)


def title_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the words (two letters or more) of two title keys."""
    left, right = _tokens(a), _tokens(b)
    if not left or not right:
        return 1.0 if a == b else 0.0
    return len(left & right) / len(left | right)


def same_story(new: StoryRef, seen: StoryRef) -> float:
    """How surely `new` is the story `seen` (0.0 = not it); ids are checked by the caller.

    A story names at least one council in common. An identical title is the same story from
    any publisher (syndicated copy, Google News); a merely similar title only from the same
    publisher, or when the publisher is unknown (a redirect seen first).
    """
    if not new.councils & seen.councils:
        return 0.0
    if new.title_key == seen.title_key:
        return 2.0
    if new.host and seen.host and new.host != seen.host:
        return 0.0
    score = title_similarity(new.title_key, seen.title_key)
    return score if score >= MERGE_SIMILARITY else 0.0


def find_story(new: StoryRef, seen: Iterable[StoryRef], since: datetime) -> str | None:
    """The id of the recent detection that is the same story as `new`, best match first."""
    best, best_score = None, 0.0
    for ref in seen:
        if ref.first_seen < since or ref.id == new.id:
            continue
        score = same_story(new, ref)
        if score > best_score:
            best, best_score = ref.id, score
    return best


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
        visit_number=report.visit_number,
        inadequate_since=report.inadequate_since,
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


@dataclass(slots=True)
class StoryIndex:
    """What story identity knows at one moment, loaded once per poll (not a query per item).

    `known`: detection ids already stored; `by_key`: canonical link -> the detection its item was
    merged into; `recent`: news stories first seen within the merge window. `identify` registers
    each new story, so a second item of the same story in the same poll (or, through
    `absorb`, in a concurrent poll of this process) joins it instead of alerting again.
    """

    known: set[str] = field(default_factory=set)
    by_key: dict[str, str] = field(default_factory=dict)
    recent: list[StoryRef] = field(default_factory=list)

    def identify(self, item: Item, det: Detection, now: datetime, since: datetime) -> Detection:
        """The detection under the id of the story it belongs to (one story, one detection).

        Its own link (any variant) seen before wins; then a link already merged into a story;
        then a recent story with the same or a similar title about the same councils.
        """
        own = det.id
        key = item_story_key(item)
        found: str | None = own if own in self.known else None
        if found is None and key:
            found = self.by_key.get(key)
        ref = story_ref(item, det.councils, own, now)
        if found is None:
            found = find_story(ref, self.recent, since)
        if found is None:
            self.recent.append(ref)
        chosen = found or own
        self.known.add(chosen)
        if key:
            self.by_key.setdefault(key, chosen)
        return replace(det, id=chosen)

    def absorb(self, other: StoryIndex) -> None:
        """Add what `other` knows (stories another poll of this process just registered)."""
        self.known |= other.known
        for key, story in other.by_key.items():
            self.by_key.setdefault(key, story)
        have = {ref.id for ref in self.recent}
        self.recent.extend(ref for ref in other.recent if ref.id not in have)

    def forget_before(self, since: datetime) -> None:
        """Drop stories first seen before `since`: by then the database answers for them."""
        self.recent = [ref for ref in self.recent if ref.first_seen >= since]
        live = {ref.id for ref in self.recent}
        self.known &= live
        self.by_key = {k: v for k, v in self.by_key.items() if v in live}

    def copy(self) -> StoryIndex:
        return StoryIndex(set(self.known), dict(self.by_key), list(self.recent))
