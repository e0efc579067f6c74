"""The `html` source: a news page with no feed, read with CSS selectors from the config.

Pages are parsed with BeautifulSoup's lxml builder, never "html.parser": CPython 3.11's
HTMLParser is quadratic on some malformed input (40 KB of "<a " took 14 s; lxml 1 ms).
BeautifulSoup builds a Python object per element, so a hostile page is bounded three ways
before it gets there: a 2 MiB default cap on the body, and a streaming pass in libxml2 that
refuses more than MAX_ELEMENTS elements or nesting deeper than MAX_DEPTH (10 MiB of unclosed
<div> took BeautifulSoup 30-110 s and 1.2 GB; the pass refuses it in milliseconds).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields
from urllib.parse import urljoin, urlsplit

import soupsieve
from bs4 import BeautifulSoup, Tag
from lxml import etree

from scraper.errors import ParseError
from scraper.httputil import strip_userinfo
from scraper.ingest.cpu import cpu_slot
from scraper.ingest.dates import parse_uk_date
from scraper.ingest.sources.feed import ParsedFeed, challenge_reason, clean_text, poll_url
from scraper.judge.urls import canonical_url, content_hash
from scraper.models import Fetched, Item, PollContext, SourceResult

HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# A news listing page is 50-500 KB; a source may set its own `max_bytes` (higher or lower).
HTML_MAX_BYTES = 2 * 1024 * 1024
# A real listing page has a few thousand elements and nests 10-40 deep; past these limits a
# page is an attack or a mistake, and BeautifulSoup would spend seconds and gigabytes on it.
MAX_ELEMENTS = 100_000
MAX_DEPTH = 255  # libxml2 itself gives up below 256 levels; BeautifulSoup's builder does not


@dataclass(frozen=True, slots=True)
class HtmlSelectors:
    """CSS selectors for one page: `item` per story; the rest are looked up inside each item."""

    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None

    def __post_init__(self) -> None:
        """Reject a bad selector when the config is read, not at the first poll."""
        for spec in fields(self):
            selector = getattr(self, spec.name)
            if selector is None:
                continue
            try:
                soupsieve.compile(selector)
            except Exception as exc:  # SelectorSyntaxError, or TypeError on a non-string
                raise ValueError(f"{spec.name}: invalid CSS selector {selector!r}: {exc}") from exc


def _text(element: Tag, selector: str | None) -> str:
    found = element.select_one(selector) if selector else None
    return clean_text(found.get_text(" ")) if found is not None else ""


def _href(node: Tag) -> str | None:
    href = node.get("href")
    return href.strip() if isinstance(href, str) and href.strip() else None


def _link(element: Tag, selector: str) -> str | None:
    """The href of the link selector's element or of its first <a>; else the item's own href."""
    found = element.select_one(selector)
    if found is None:
        return _href(element)
    own = _href(found)
    if own is not None:
        return own
    anchor = found.find("a", href=True)
    return _href(anchor) if isinstance(anchor, Tag) else None


def _element_date(element: Tag, selector: str | None) -> tuple[str, str]:
    """(datetime attribute, text) of the date element, either possibly empty."""
    found = element.select_one(selector) if selector else None
    if found is None:
        return "", ""
    attribute = found.get("datetime")
    return (attribute.strip() if isinstance(attribute, str) else ""), clean_text(
        found.get_text(" ")
    )


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    href = _href(base) if isinstance(base, Tag) else None
    return urljoin(url, href) if href else url


def _element_item(element: Tag, *, source: str, base: str, sel: HtmlSelectors) -> Item | None:
    title = _text(element, sel.title)
    raw_link = _link(element, sel.link)
    absolute = strip_userinfo(urljoin(base, raw_link)) if raw_link else None
    web = absolute is not None and urlsplit(absolute).scheme in ("http", "https")
    url = canonical_url(absolute) if web and absolute else None
    if not title and url is None:
        return None
    attribute, date_text = _element_date(element, sel.date)
    published = (parse_uk_date(attribute) if attribute else None) or (
        parse_uk_date(date_text) if date_text else None
    )
    # No guid on a page: the canonical link is the identity, else a hash of what is shown.
    key = url or content_hash(title, attribute or date_text)
    return Item(
        source=source,
        key=key,
        title=title or (url or ""),
        url=url,
        published=published,
        summary=_text(element, sel.summary),
        raw_link=raw_link,
    )


def _nothing_matched(soup: BeautifulSoup, body: bytes, what: str) -> str:
    reason = challenge_reason(body)
    if reason:
        return reason
    if not clean_text(soup.get_text(" ")):
        return "the page has no content"
    return f"{what} — has the page changed?"


def check_page_shape(body: bytes, *, source: str, url: str) -> None:
    """Refuse a page with too many or too deeply nested elements, before building any tree.

    One streaming pass in libxml2 (elements are dropped as they close, so memory stays flat)
    that stops at the first element past a limit: its cost is bounded by the limits, not by
    the page.
    """
    depth = count = 0
    events = etree.iterparse(
        io.BytesIO(body), events=("start", "end"), html=True, recover=True, no_network=True
    )
    try:
        for event, element in events:
            if event == "end":
                depth -= 1
                element.clear()
                continue
            depth, count = depth + 1, count + 1
            if depth > MAX_DEPTH:
                raise ParseError(source, url, f"elements nested deeper than {MAX_DEPTH} levels")
            if count > MAX_ELEMENTS:
                raise ParseError(source, url, f"more than {MAX_ELEMENTS} elements on the page")
    except etree.LxmlError:
        return  # what libxml2 cannot read at all is left to BeautifulSoup's own recovery


def parse_html_page(
    body: bytes, encoding: str | None, *, source: str, url: str, selectors: HtmlSelectors
) -> ParsedFeed:
    """Items from a news page; ParseError when the item selector finds nothing on the page."""
    if not body.strip():
        raise ParseError(source, url, "empty body")
    check_page_shape(body, source=source, url=url)
    soup = BeautifulSoup(body, "lxml", from_encoding=encoding)
    elements = soup.select(selectors.item)
    if not elements:
        what = f"selector {selectors.item!r} matched nothing"
        raise ParseError(source, url, _nothing_matched(soup, body, what))
    base = _base_url(soup, url)
    found: dict[str, Item] = {}
    skipped = 0
    for element in elements:
        item = _element_item(element, source=source, base=base, sel=selectors)
        if item is None:
            skipped += 1
        else:
            found.setdefault(item.key, item)  # a page may list a story twice (featured + list)
    if not found:
        what = f"no {selectors.item!r} element had a title ({selectors.title!r}) or a link"
        raise ParseError(source, url, f"{what} — has the page changed?")
    warnings = (
        (f"{skipped} of {len(elements)} {selectors.item!r} elements had no title or link",)
        if skipped
        else ()
    )
    return ParsedFeed(items=tuple(found.values()), warnings=warnings)


class HtmlSource:
    """`type = "html"`: a news listing page with no feed."""

    def __init__(
        self, name: str, url: str, selectors: HtmlSelectors, *, max_bytes: int = HTML_MAX_BYTES
    ) -> None:
        self.name = name
        self.url = url
        self.selectors = selectors
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"HtmlSource({self.name!r}, {self.url!r})"

    def poll(self, ctx: PollContext) -> SourceResult:
        return poll_url(
            ctx,
            source=self.name,
            url=self.url,
            accept=HTML_ACCEPT,
            max_bytes=self.max_bytes,
            parse=self._parse,
        )

    def _parse(self, fetched: Fetched) -> ParsedFeed:
        with cpu_slot():
            return parse_html_page(
                fetched.body,
                fetched.encoding,
                source=self.name,
                url=fetched.url or self.url,
                selectors=self.selectors,
            )
