"""The `feed` source: RSS or Atom bytes -> Items, and the poll that fetches them.

Everything here is pure except `FeedSource.poll`, which asks the fetch layer (via PollContext)
for the bytes. Feed HTML is never rendered: descriptions and content become plain text.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from scraper.errors import ParseError
from scraper.httputil import redact_url, strip_userinfo
from scraper.ingest.cpu import cpu_slot
from scraper.ingest.dates import parse_uk_date
from scraper.ingest.sources.fastfeed import parse_fast
from scraper.ingest.xmlsafe import UnsafeXmlError, check_no_entities, parse_feed_bytes
from scraper.judge.urls import canonical_url, content_hash
from scraper.models import Fetched, Item, PollContext, SourceResult, Validators

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
FEED_MAX_BYTES = (
    5 * 1024 * 1024
)  # real feeds are under 1 MB; a bigger one is a mistake or an attack
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
BLOCK_TAGS = (
    "p", "div", "li", "br", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
    "ol", "ul", "blockquote", "section", "article", "figure", "figcaption", "dd", "dt",
)  # fmt: skip
DROPPED_TAGS = ("script", "style", "template", "noscript")
# (marker in the lower-cased page, what it is). Seen on 200 responses from council and news
# sites behind bot managers; a feed URL answering with one of these is a failure, not "no news".
CHALLENGE_MARKERS = (
    ("just a moment", "Cloudflare challenge ('Just a moment...')"),
    ("cf-browser-verification", "Cloudflare browser check"),
    ("/cdn-cgi/challenge-platform", "Cloudflare challenge"),
    ("attention required! | cloudflare", "Cloudflare block page"),
    ("checking your browser", "browser check ('Checking your browser')"),
    ("_incapsula_resource", "Incapsula/Imperva challenge"),
    ("incapsula incident id", "Incapsula/Imperva block page"),
    ("pardon our interruption", "Imperva bot challenge"),
    ("perfdrive.com", "Radware Bot Manager challenge"),
    ("radware", "Radware block page"),
    ("ddos-guard", "DDoS-Guard challenge"),
    ("sucuri website firewall", "Sucuri firewall block page"),
    ("access denied", "'Access denied' page"),
    ("please enable javascript and cookies", "JavaScript/cookie challenge"),
    ("captcha", "CAPTCHA page"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")
_LEFTOVER_MARKUP = re.compile(
    r"&(?:[a-z]{2,8}|#\d{2,6}|#x[0-9a-f]{2,5});|</?(?:p|br|div|span|a|b|i|em|strong|li|ul|ol)\b[^<>]*>",
    re.IGNORECASE,
)
_HTML_ROOT = re.compile(
    rb"^(?:\s|\xef\xbb\xbf|<\?xml[^>]*>|<!--.*?-->)*<(?:!doctype\s+html|html[\s>])",
    re.IGNORECASE | re.DOTALL,
)
BODY_HASH = "body_sha256"  # cursor key: the hash of the last body parsed
_ISO_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T")
# WordPress/Yoast footer "The post <title> appeared first on <site>." repeats the title: noise.
_WP_FOOTER = re.compile(r"\s*The post .{1,400}? appeared first on [^.]{1,120}\.\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed (or news page) holds: its items, and notes on anything malformed."""

    items: tuple[Item, ...] = ()
    warnings: tuple[str, ...] = ()
    # False when the body broke off or did not parse cleanly: the next poll must read the
    # feed afresh (no conditional GET, no unchanged-body shortcut), or an item cut short
    # would never be seen whole.
    complete: bool = True


# -- text helpers (shared with the html source) -------------------------------------------


def clean_text(text: str) -> str:
    """Whitespace collapsed to single spaces, control characters removed."""
    return " ".join(_CONTROL.sub("", text).split())


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags stripped, entities decoded, whitespace collapsed.

    CMS feeds often escape their HTML twice; if markup survives one pass, a second pass
    removes it (never more, so text about HTML is not eaten away).
    """
    text = _strip_markup(markup)
    return _strip_markup(text) if _LEFTOVER_MARKUP.search(text) else text


def plain_text(text: str) -> str:
    """A text/plain value, decoding markup that a double-escaping feed left in it."""
    cleaned = clean_text(text)
    return html_to_text(cleaned) if _LEFTOVER_MARKUP.search(cleaned) else cleaned


def _strip_markup(markup: str) -> str:
    markup = _CONTROL.sub("", markup)
    if "<" not in markup:
        return clean_text(html.unescape(markup))
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(html.unescape(_TAG.sub(" ", markup)))
    doomed = [*root.iter(*DROPPED_TAGS), *root.iter(etree.Comment, etree.ProcessingInstruction)]
    for node in doomed:
        node.drop_tree()
    for block in root.iter(*BLOCK_TAGS):
        block.tail = " " + (block.tail or "")  # keep words in adjacent blocks apart
    return clean_text("".join(root.itertext()))


def challenge_reason(body: bytes) -> str | None:
    """Name the bot challenge or block page this body is, or None."""
    head = body[:65536].decode("utf-8", "replace").lower()
    for marker, what in CHALLENGE_MARKERS:
        if marker in head:
            return f"got a bot challenge or block page instead of content: {what}"
    return None


def _not_a_feed(body: bytes, detail: str) -> str:
    return challenge_reason(body) or f"not an RSS or Atom feed: {detail}"


# -- parsing --------------------------------------------------------------------------------


def parse_feed(
    body: bytes,
    headers: Mapping[str, str],
    *,
    source: str,
    url: str,
    fast: bool = True,
    seen: Collection[str] = frozenset(),
) -> ParsedFeed:
    """Read RSS/Atom bytes into Items; raise ParseError when the body is not a feed at all.

    A malformed feed still yields what parses, with a warning; a feed with no entries is an
    empty result. `url` is the feed's final URL, used to resolve relative links. `fast` lets
    lxml read a well-formed feed it knows the shape of (fastfeed.py); feedparser reads the rest,
    and `fast=False` makes it read everything (the parity tests compare the two). Entries whose
    key is in `seen` (already stored for this source) are dropped before their text is cleaned.
    """
    if not body.strip():
        raise ParseError(source, url, "empty body")
    if _HTML_ROOT.match(body[:4096]):
        raise ParseError(source, url, _not_a_feed(body, "the body is an HTML page"))
    try:
        check_no_entities(body)
        parsed = (parse_fast(body, headers) if fast else None) or parse_feed_bytes(body, headers)
    except UnsafeXmlError as exc:
        raise ParseError(source, url, str(exc)) from exc
    except Exception as exc:  # feedparser bugs on hostile input must not kill the run
        raise ParseError(source, url, f"feedparser failed: {exc!r}") from exc
    entries = list(parsed.get("entries") or [])
    if not parsed.get("version") and not entries:
        raise ParseError(source, url, _not_a_feed(body, _bozo_text(parsed) or "no feed found"))
    feed_info = parsed.get("feed") or {}
    google = _is_google_news(feed_info, entries)
    items = [
        _entry_item(entry, source=source, base=url, google=google, seen=seen) for entry in entries
    ]
    warnings = _warnings(parsed)
    return ParsedFeed(
        items=_collapse(item for item in items if item is not None),
        warnings=warnings,
        complete=not any(w.startswith("malformed") for w in warnings),
    )


def _bozo_text(parsed: Mapping[str, Any]) -> str:
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}" if parsed.get("bozo") and exc is not None else ""


def _warnings(parsed: Mapping[str, Any]) -> tuple[str, ...]:
    text = _bozo_text(parsed)
    if not text:
        return ()
    if text.startswith("NonXMLContentType"):
        return (f"served with a non-XML content type, parsed anyway ({text})",)
    return (f"malformed feed, kept what parsed ({text})",)


def _is_google_news(feed_info: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]) -> bool:
    if str(feed_info.get("generator", "")).startswith("NFE/"):
        return True
    return any(urlsplit(str(e.get("link", ""))).hostname == "news.google.com" for e in entries)


def _detail_text(value: str, detail: Mapping[str, Any] | None) -> str:
    kind = str((detail or {}).get("type", "")).lower()
    if kind in HTML_TYPES or (not kind and "<" in value):
        return html_to_text(value)
    return plain_text(value)


def _body_text(entry: Mapping[str, Any]) -> str:
    parts = (_detail_text(str(c.get("value", "")), c) for c in entry.get("content") or [])
    return _WP_FOOTER.sub("", " ".join(part for part in parts if part))


def _categories(entry: Mapping[str, Any]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for tag in entry.get("tags") or []:
        label = clean_text(str(tag.get("term") or tag.get("label") or ""))
        if label:
            found.setdefault(label, None)
    return tuple(found)


def _published(entry: Mapping[str, Any]) -> datetime | None:
    """Our UK-aware parser first (feedparser ignores BST, cannot read DD/MM), then feedparser's."""
    for field in ("published", "updated", "created"):
        raw = entry.get(field)
        if not raw:
            continue
        value = parse_uk_date(str(raw))
        if value is not None:
            return value
        stamp = entry.get(f"{field}_parsed")
        if stamp:
            return datetime.fromtimestamp(calendar.timegm(stamp), UTC)
    return None


def _web_url(raw: str | None, base: str) -> str | None:
    if not raw:
        return None
    # A relative link resolved against a feed URL with user:password@ would carry them along.
    absolute = strip_userinfo(urljoin(base, raw.strip()))
    return canonical_url(absolute) if urlsplit(absolute).scheme in ("http", "https") else None


def _is_timestamped_id(guid: str, raw_link: str | None, url: str | None) -> bool:
    """GOV.UK's shape: id = link + "#" + public timestamp, so every edit mints a new id."""
    base, sep, fragment = guid.partition("#")
    if not sep or not _ISO_STAMP.match(fragment):
        return False
    return base == raw_link or (url is not None and canonical_url(base) == url)


def _entry_key(guid: str, raw_link: str | None, url: str | None, *text: str) -> str:
    # Identity (as rss2email): the guid is what the publisher promises stays put, so it wins;
    # without one, the canonical link (tracking removed) names the article; without either, a
    # content hash, accepting that an edited text may repeat. GOV.UK ids embed an update
    # timestamp, so for that shape the link is the stable identity instead.
    return _link_key(guid, raw_link, url) or content_hash(*text)


def _link_key(guid: str, raw_link: str | None, url: str | None) -> str | None:
    """The identity when the guid or link gives it (no text needed), else None."""
    if guid and url and _is_timestamped_id(guid, raw_link, url):
        return url
    return guid or url or None


def _google_title(title: str, entry: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """Split Google News "Headline - Publisher" using the item's <source>."""
    source = entry.get("source") or {}
    publisher = clean_text(str(source.get("title") or "")) or None
    publisher_url = str(source.get("href") or "").strip() or None
    if publisher and title.endswith(f" - {publisher}"):
        title = title[: -len(publisher) - 3].rstrip()
    elif publisher is None and " - " in title:
        title, publisher = (part.strip() for part in title.rsplit(" - ", 1))
    return title, publisher, publisher_url


def _entry_item(
    entry: Mapping[str, Any],
    *,
    source: str,
    base: str,
    google: bool,
    seen: Collection[str] = frozenset(),
) -> Item | None:
    """The entry as an Item, or None when its key is in `seen` (known by guid or link, the
    text is never cleaned: that is most of the cost)."""
    raw_link = str(entry.get("link") or "").strip() or None
    url = _web_url(raw_link, base)
    guid = str(entry.get("id") or "").strip()
    if seen and _link_key(guid, raw_link, url) in seen:
        return None
    title = _detail_text(str(entry.get("title") or ""), entry.get("title_detail"))
    publisher = publisher_url = None
    if google:
        title, publisher, publisher_url = _google_title(title, entry)
    summary = _detail_text(str(entry.get("summary") or ""), entry.get("summary_detail"))
    summary = _WP_FOOTER.sub("", summary)
    published = _published(entry)
    stamp = published.isoformat() if published else ""
    key = _entry_key(guid, raw_link, url, title, summary, stamp)
    if key in seen:
        return None
    return Item(
        source=source,
        key=key,
        title=title,
        url=url,
        published=published,
        summary=summary,
        body=_body_text(entry),
        categories=_categories(entry),
        publisher=publisher,
        publisher_url=publisher_url,
        raw_link=raw_link,
    )


def _collapse(items: Iterable[Item]) -> tuple[Item, ...]:
    """One item per key, the newest version, at the place the key first appeared.

    GOV.UK lists an edited document twice (same link, new id and updated); both are one item.
    """
    oldest = datetime.min.replace(tzinfo=UTC)
    chosen: dict[str, Item] = {}
    for item in items:
        current = chosen.get(item.key)
        if current is None or (item.published or oldest) > (current.published or oldest):
            if current is not None:
                log.debug("collapsed repeated entry key=%s", item.key)
            chosen[item.key] = item
    return tuple(chosen.values())


# -- polling --------------------------------------------------------------------------------


def poll_url(
    ctx: PollContext,
    *,
    source: str,
    url: str,
    accept: str,
    max_bytes: int,
    parse: Callable[[Fetched], ParsedFeed],
) -> SourceResult:
    """One conditional GET of `url`, then `parse`; a 304 keeps the stored validators.

    A 200 whose body is byte-identical to the last one parsed (a server that ignores our
    validators) is treated as a 304: its hash in the cursor saves parsing it again."""
    key = redact_url(url)  # validators are stored by URL: never with its credentials
    stored = ctx.validators.get(key)
    fetched = ctx.fetch.get(url, validators=stored, max_bytes=max_bytes, accept=accept)
    if fetched.not_modified:
        kept = stored if fetched.validators.is_empty() else fetched.validators
        return SourceResult(
            source=source, validators={key: kept or Validators()}, not_modified=True
        )
    digest = hashlib.sha256(fetched.body).hexdigest()
    if ctx.cursor.get(BODY_HASH) == digest:
        log.debug("unchanged body source=%s url=%s", source, key)
        return SourceResult(
            source=source,
            validators={key: fetched.validators},
            not_modified=True,
        )
    parsed = parse(fetched)
    log.debug("parsed source=%s url=%s items=%d", source, key, len(parsed.items))
    cursor = {k: v for k, v in ctx.cursor.items() if k != BODY_HASH}
    if parsed.complete:
        cursor[BODY_HASH] = digest
    return SourceResult(
        source=source,
        items=parsed.items,
        validators={key: fetched.validators if parsed.complete else Validators()},
        cursor=cursor,
        warnings=parsed.warnings,
    )


class FeedSource:
    """`type = "feed"`: one RSS or Atom URL."""

    def __init__(self, name: str, url: str, *, max_bytes: int = FEED_MAX_BYTES) -> None:
        self.name = name
        self.url = url
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"FeedSource({self.name!r}, {self.url!r})"

    def poll(self, ctx: PollContext) -> SourceResult:
        return poll_url(
            ctx,
            source=self.name,
            url=self.url,
            accept=FEED_ACCEPT,
            max_bytes=self.max_bytes,
            parse=lambda fetched: self._parse(fetched, ctx.seen()),
        )

    def _parse(self, fetched: Fetched, seen: Collection[str]) -> ParsedFeed:
        with cpu_slot():
            return parse_feed(
                fetched.body,
                fetched.headers,
                source=self.name,
                url=fetched.url or self.url,
                seen=seen,
            )
