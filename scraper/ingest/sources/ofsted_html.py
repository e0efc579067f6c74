"""Parsers for reports.ofsted.gov.uk HTML: the search listing and a provider's timeline.

Pure functions of bytes. Selectors are the ones other long-lived scrapers of the site rely on,
not from a saved page, so each parser tolerates the variants seen so far and says clearly when
the structure it needs is missing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from scraper.errors import ParseError

log = logging.getLogger(__name__)

DEFAULT_MONITORING_LABELS = ("Monitoring visit", "Children's services monitoring visit")
_DATE_RE = re.compile(r"\b(\d{1,2}) ([A-Za-z]{3,9}) (\d{4})\b")
_LABEL_DATE_RE = re.compile(r"^(?P<label>.*?)\s*(?:,\s*|\s+as\s+)pdf\s*[-–]\s*(?P<date>.*)$", re.I)
_FILE_ID_RE = re.compile(r"^/v1/file/(\d+)/?$")
_NO_RESULTS_RE = re.compile(r"\b(?:no|0) (?:matching )?results\b|did not match any", re.I)
_SKIPPED_DAYS = ("timeline__day--opened", "timeline__day--closed", "timeline__day--registered")
_logged_labels: set[str] = set()


@dataclass(frozen=True, slots=True)
class ListingEntry:
    """One provider in the search listing."""

    urn: str
    name: str
    provider_url: str  # absolute
    latest_report: date | None


@dataclass(frozen=True, slots=True)
class ProviderLink:
    """One report link on a provider page."""

    label: str
    url: str  # absolute
    file_id: str | None
    published: date | None  # the site's date
    report_type: str


def parse_day_month_year(text: str) -> date | None:
    """'04 May 2022', '5 august 2016' -> a date; None when absent or impossible."""
    found = _DATE_RE.search(text)
    if not found:
        return None
    try:
        return datetime.strptime(" ".join(found.groups()).title(), "%d %B %Y").date()
    except ValueError:
        try:
            return datetime.strptime(" ".join(found.groups()).title(), "%d %b %Y").date()
        except ValueError:
            return None


def _text(node: Tag) -> str:
    return " ".join(node.get_text(" ").split())


def _soup(body: bytes) -> BeautifulSoup:
    return BeautifulSoup(body, "lxml")


def parse_listing(
    body: bytes, *, base_url: str, source: str = "ofsted"
) -> tuple[list[ListingEntry], str | None]:
    """Entries of one search-results page and the absolute URL of the next page, if any.

    A page with no results list and no "no results" wording is a changed site or a bot
    challenge: ParseError, so the poll fails instead of reading the silence as "no reports".
    """
    soup = _soup(body)
    items = soup.select("ul.results-list > li") or soup.select("li.search-result")
    if not items:
        if soup.select_one("ul.results-list") is None and not _NO_RESULTS_RE.search(_text(soup)):
            log.warning("changed HTML: listing has no results list url=%s", base_url)
            raise ParseError(source, base_url, "no results list and no 'no results' marker")
        return [], None
    entries = [entry for item in items if (entry := _listing_entry(item, base_url))]
    if len(entries) < len(items):
        log.warning(
            "changed HTML: %d listing items without a provider link", len(items) - len(entries)
        )
    nxt = soup.select_one("a.pagination__next[href]") or soup.select_one(
        "ul.pagination li.next a[href]"
    )
    next_url = urljoin(base_url, str(nxt["href"])) if nxt and entries else None
    return entries, next_url


def _listing_entry(item: Tag, base_url: str) -> ListingEntry | None:
    link = item.select_one("h3 a[href]") or item.select_one('a[href*="/provider/"]')
    if link is None:
        return None
    url = urljoin(base_url, str(link["href"]))
    facts: dict[str, str] = {}
    for fact in item.find_all("li"):
        key, sep, value = _text(fact).partition(":")
        if sep:
            facts[key.strip().lower()] = value.strip()
    urn = facts.get("urn") or urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    latest = facts.get("latest report")
    return ListingEntry(
        urn=urn,
        name=_text(link),
        provider_url=url,
        latest_report=parse_day_month_year(latest) if latest else None,
    )


def parse_provider_page(
    body: bytes,
    *,
    base_url: str,
    monitoring_labels: Sequence[str] = DEFAULT_MONITORING_LABELS,
    source: str = "ofsted",
) -> tuple[str, list[ProviderLink]]:
    """The provider's name and its report links, newest first, de-duplicated by URL."""
    soup = _soup(body)
    heading = soup.select_one("h1.heading--title")
    if heading is None:
        raise ParseError(source, base_url, "no h1.heading--title: not a provider page")
    days = soup.select("ol.timeline > li.timeline__day")
    if not days:
        log.info("provider page has no timeline url=%s", base_url)
    links: list[ProviderLink] = []
    seen: set[str] = set()
    for day in days:
        classes = day.get("class") or []
        if any(c in _SKIPPED_DAYS for c in classes):
            continue
        for anchor in day.select("a.publication-link[href]"):
            link = _provider_link(anchor, day, base_url, monitoring_labels)
            if link.url not in seen:
                seen.add(link.url)
                links.append(link)
    return _text(heading), links


def _provider_link(
    anchor: Tag, day: Tag, base_url: str, monitoring_labels: Sequence[str]
) -> ProviderLink:
    """Label and date from the link's own span.nonvisual, else its text and the day's date."""
    url = urljoin(base_url, str(anchor["href"]).strip())
    span = anchor.select_one("span.nonvisual")
    written = _text(span) if span else _text(anchor)
    found = _LABEL_DATE_RE.match(written)
    if found:
        label, published = found["label"].strip(" ,"), parse_day_month_year(found["date"])
    else:
        label, published = written, None
    if published is None:
        published = _day_date(day)
    return ProviderLink(
        label=label,
        url=url,
        file_id=file_id_of(url),
        published=published,
        report_type=classify_label(label, monitoring_labels),
    )


def _day_date(day: Tag) -> date | None:
    """The timeline day's own date: a <time datetime>, else a date in its text outside links."""
    time = day.find("time")
    if isinstance(time, Tag):
        stamp = str(time.get("datetime") or "")
        try:
            return date.fromisoformat(stamp[:10])
        except ValueError:
            return parse_day_month_year(_text(time))
    texts = [
        str(s)
        for s in day.find_all(string=True)
        if not s.find_parent("a", class_="publication-link")
    ]
    return parse_day_month_year(" ".join(" ".join(texts).split()))


def file_id_of(url: str) -> str | None:
    """Numeric id of a /v1/file/N URL (files.ofsted.gov.uk or the older files.api host).

    Legacy /provider/files/… paths get None: their numbers may come from another id space.
    """
    found = _FILE_ID_RE.match(urlsplit(url).path)
    return found.group(1) if found else None


def _norm_label(label: str) -> str:
    return " ".join(label.replace("’", "'").replace("‘", "'").lower().split())


# Labels that name a publication without saying what kind of visit it was: the PDF's own text
# decides their type. Every other label the rules below recognise is specific and wins over
# the PDF, whose body often recalls earlier visits of other kinds.
_GENERIC_LABEL_RE = re.compile(
    r"^(?:children's services |local authority )?(?:inspection |visit )?"
    r"(?:report|letter|outcome letter|document|publication)s?$"
)


def is_generic_label(label: str) -> bool:
    """True when the site's label leaves the report's type open ("Report", "Inspection report")."""
    return bool(_GENERIC_LABEL_RE.match(_norm_label(label)))


def classify_label(label: str, monitoring_labels: Sequence[str] = DEFAULT_MONITORING_LABELS) -> str:
    """Report type from the site's link label; unknown labels are 'other' (logged once each)."""
    text = _norm_label(label)
    if text in {_norm_label(m) for m in monitoring_labels}:
        return "monitoring_visit"
    rules = (
        ("focused_visit", r"\bfocused visit\b"),
        ("monitoring_visit", r"\bmonitoring\b"),
        ("jtai", r"\bjoint (?:targeted )?area\b|\bjtai\b|\bjoint area child protection\b"),
        ("area_send", r"\barea send\b|\bsend\b.*\barea\b|\blocal area\b"),
        ("inspection", r"\binspection\b"),
    )
    for report_type, pattern in rules:
        if re.search(pattern, text):
            return report_type
    if label not in _logged_labels:
        _logged_labels.add(label)
        log.warning("unknown Ofsted report label=%r classified as other", label)
    return "other"
