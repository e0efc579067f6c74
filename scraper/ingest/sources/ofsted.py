"""The Ofsted reports site as a source: listing -> changed provider pages -> new report PDFs.

Cheap by design: one poll reads the two listing pages (conditionally), and fetches a provider
page only when its "Latest report" date moved. Report identity is the file id or URL, never the
position on the page. A failed listing fails the whole poll (the pipeline keeps the old cursor);
a failed provider page or file fails only its council, whose memory stays where it was so the
next poll reads it again, while the other councils are read and stored. A file that is gone
("Report not found") is recorded as unavailable; a *new* one is first looked at again for a few
polls, as a fresh link may precede its file. A council added to the watchlist after the first
poll takes its history as a silent baseline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scraper.errors import (
    FetchError,
    HostDeferredError,
    ParseError,
    ScraperError,
    TooLargeError,
)
from scraper.ingest.cpu import cpu_slot
from scraper.ingest.sources.ofsted_cursor import Memory, entry_from_dict, entry_to_dict
from scraper.ingest.sources.ofsted_html import (
    DEFAULT_MONITORING_LABELS,
    ListingEntry,
    ProviderLink,
    classify_label,
    is_generic_label,
    parse_listing,
    parse_provider_page,
)
from scraper.ingest.sources.ofsted_pdf import NO_TEXT, PdfFacts, is_pdf, read_pdf
from scraper.models import Fetch, PollContext, Report, SourceResult, Validators

__all__ = [
    "ListingEntry",
    "OfstedSource",
    "ProviderLink",
    "classify_label",
    "parse_listing",
    "parse_provider_page",
]

log = logging.getLogger(__name__)

SEARCH_PATH = (
    "/search?q=&location=&lat=&lon=&radius=&level_1_types=3&level_2_types%5B%5D=12&start=0&rows=100"
)
MAX_PAGES = 20  # about 153 LAs at 100 a page; anything past this is a pagination loop
GONE = (404, 410)
GRADED_TYPES = ("inspection", "other")  # report types whose PDF may state the council's grade


@dataclass(slots=True)
class _Listing:
    """The listing as read this poll, with what goes back into the cursor."""

    entries: dict[str, ListingEntry] = field(default_factory=dict)
    pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    next_of: dict[str, str | None] = field(default_factory=dict)
    validators: dict[str, Validators] = field(default_factory=dict)
    all_not_modified: bool = True


@dataclass(slots=True)
class _Found:
    """What one poll gathers across councils."""

    reports: list[Report] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class OfstedSource:
    """`type = "ofsted"`: LA children's services reports on reports.ofsted.gov.uk."""

    def __init__(
        self,
        name: str,
        base_url: str = "https://reports.ofsted.gov.uk",
        *,
        monitoring_labels: Sequence[str] = DEFAULT_MONITORING_LABELS,
        max_pdf_bytes: int = 20_000_000,
        fetch_pdfs: bool = True,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.monitoring_labels = tuple(monitoring_labels)
        self.max_pdf_bytes = max_pdf_bytes
        self.fetch_pdfs = fetch_pdfs

    def poll(self, ctx: PollContext) -> SourceResult:
        """One poll: listing, changed provider pages, new PDFs. A failed listing keeps nothing;
        a failed council keeps its old memory while the others are read (see _read_council)."""
        http = ctx.fetch  # counts come from the fetch view's own statistics, not from here
        listing = self._read_listing(ctx, http)
        memory = Memory.load(ctx.cursor)
        found = _Found()
        for urn, name in {c.ofsted_urn: c.short_name for c in ctx.watched if c.ofsted_urn}.items():
            self._read_council(
                ctx,
                http,
                listing.entries.get(urn),
                memory=memory,
                who=f"{name} (URN {urn})",
                found=found,
            )
        reports, warnings, errors = found.reports, found.warnings, found.errors
        cursor = {**memory.dump(), "pages": listing.pages, "next": listing.next_of}
        log.info(
            "ofsted poll source=%s listed=%d new_reports=%d",
            self.name,
            len(listing.entries),
            len(reports),
        )
        return SourceResult(
            source=self.name,
            reports=tuple(reports),
            validators=listing.validators,
            cursor=cursor,
            not_modified=listing.all_not_modified and not reports,
            warnings=tuple(warnings),
            errors=tuple(errors),
        )

    def _read_council(
        self,
        ctx: PollContext,
        http: Fetch,
        entry: ListingEntry | None,
        *,
        memory: Memory,
        who: str,
        found: _Found,
    ) -> None:
        """One watched council's new reports into `found`, or its warning or error."""
        if entry is None:
            found.warnings.append(f"watched council {who} is not in the Ofsted listing")
            log.warning("watched council missing from listing: %s", who)
            return
        urn = entry.urn
        stamp = entry.latest_report.isoformat() if entry.latest_report else None
        if memory.unchanged(urn, stamp) and not ctx.full_history:
            return
        kept = memory.keep(urn)
        try:
            reports, caught_up = self._read_provider(ctx, http, entry, memory)
        except _CouncilFailure as failure:
            # One council's page or file must not sink the others: its memory goes back to
            # where it was, so the next poll reads it again and nothing it lists is lost.
            memory.restore(urn, kept)
            found.errors.append(f"{who}: {failure}")
            log.warning("ofsted council failed, retried next poll: %s", found.errors[-1])
            return
        found.reports += reports
        if caught_up:
            memory.latest[urn] = stamp
        else:
            found.warnings.append(_lagging_warning(entry))
            log.warning("%s", found.warnings[-1])

    def _read_listing(self, ctx: PollContext, http: Fetch) -> _Listing:
        """Follows a.pagination__next from the first page; a 304 page reuses the cursor copy."""
        listing = _Listing()
        remembered: Mapping[str, Any] = ctx.cursor.get("pages", {})
        remembered_next: Mapping[str, Any] = ctx.cursor.get("next", {})
        url: str | None = self.base_url + SEARCH_PATH
        while url and url not in listing.pages and len(listing.pages) < MAX_PAGES:
            fetched = http.get(url, validators=ctx.validators.get(url), accept="text/html")
            if fetched.not_modified and url in remembered:
                entries = [entry_from_dict(e) for e in remembered[url]]
                next_url = remembered_next.get(url)
            else:
                if fetched.not_modified:  # validators without a remembered page: read it afresh
                    fetched = http.get(url, accept="text/html")
                listing.all_not_modified = False
                entries, next_url = parse_listing(fetched.body, base_url=url, source=self.name)
                if not fetched.validators.is_empty():
                    listing.validators[url] = fetched.validators
            listing.pages[url] = [entry_to_dict(e) for e in entries]
            listing.next_of[url] = next_url
            for entry in entries:
                _merge(listing.entries, entry)
            url = next_url if entries else None
        return listing

    def _read_provider(
        self, ctx: PollContext, http: Fetch, entry: ListingEntry, memory: Memory
    ) -> tuple[list[Report], bool]:
        """Reports on one provider page not seen before (all of them on backfill), and whether
        the page has caught up with the listing's "Latest report" date.

        The listing and the provider page are separate pages that can briefly disagree (a cached
        old page, an empty timeline). The caller advances the council's cursor only when the
        page holds a report of that date or later; otherwise the page is read again next poll,
        so a letter listed before its page shows it is never skipped for good.
        """
        name, links = self._provider_page(http, entry)
        urn = entry.urn
        caught_up = _caught_up(entry, links)
        if memory.is_newly_watched(urn) and not ctx.full_history:
            if not caught_up:  # take the baseline once the page agrees with the listing
                return [], False
            # A council added to the watchlist after the source's own baseline: its history is
            # not news. Taken as seen without reading files; backfill stores it.
            memory.seen[urn] = [_key(link) for link in links]
            log.info(
                "newly watched council urn=%s: %d existing reports taken as its baseline, "
                "not alerted (run `ofsted-watch backfill` to store them)",
                urn,
                len(links),
            )
            return [], True
        seen = memory.seen.setdefault(urn, [])
        reports = []
        for link in links:
            key = _key(link)
            if key in seen and not ctx.full_history:
                continue
            report = self._report(http, urn, name, link)
            if not report.available and memory.retry_later(urn, key, ctx.full_history):
                continue
            memory.missing.get(urn, {}).pop(key, None)
            reports.append(report)
            if key not in seen:
                seen.append(key)
        return reports, caught_up

    def _provider_page(self, http: Fetch, entry: ListingEntry) -> tuple[str, list[ProviderLink]]:
        """The provider's name and links; any failure is this council's (_CouncilFailure)."""
        try:
            fetched = http.get(entry.provider_url, accept="text/html")
            return parse_provider_page(
                fetched.body,
                base_url=fetched.url or entry.provider_url,
                monitoring_labels=self.monitoring_labels,
                source=self.name,
            )
        except HostDeferredError:
            raise  # the whole host asked us to wait: not this council's failure
        except ScraperError as exc:
            raise _CouncilFailure("provider page", exc) from exc

    def _report(self, http: Fetch, urn: str, council: str, link: ProviderLink) -> Report:
        """One Report: the link's facts, confirmed or corrected by its PDF when readable."""
        try:
            available, facts = (
                self._read_file(http, link.url) if self.fetch_pdfs else (True, NO_TEXT)
            )
        except HostDeferredError:
            raise
        except ScraperError as exc:
            raise _CouncilFailure(f"report file {link.url}:", exc) from exc
        kind = report_type(link, facts)
        # Visits and joint or area inspections carry no grade of the council's own: a grade
        # their text recalls ("judged inadequate in 2016") is history, not this report's.
        graded = kind in GRADED_TYPES
        return Report(
            urn=urn,
            council_name=council,
            label=link.label,
            url=link.url,
            file_id=link.file_id,
            report_type=kind,
            published=link.published,
            visit_dates=facts.visit_dates,
            pdf_published=facts.pdf_published,
            visit_number=facts.visit_number,
            inadequate_since=facts.inadequate_since,
            judgement=facts.judgement if graded else None,
            sub_judgements=facts.sub_judgements if graded else {},
            summary=facts.summary,
            council_as_written=facts.council_as_written,
            text_available=facts.text_available,
            available=available,
        )

    def _read_file(self, http: Fetch, url: str) -> tuple[bool, PdfFacts]:
        """(available, facts); a gone file is unavailable, other failures propagate."""
        try:
            fetched = http.get(url, max_bytes=self.max_pdf_bytes, accept="application/pdf")
        except TooLargeError:
            log.warning("report too large to read url=%s", url)
            return True, NO_TEXT
        except FetchError as exc:
            if exc.status in GONE:
                log.warning("report file gone url=%s status=%s", url, exc.status)
                return False, NO_TEXT
            raise
        if not is_pdf(fetched.body):
            log.warning("report file is not a PDF (Report not found page?) url=%s", url)
            return False, NO_TEXT
        with cpu_slot():
            facts = read_pdf(fetched.body)
        if not facts.text_available:
            log.warning(
                "report text unavailable (image-only, corrupt or locked PDF); "
                "type from its label url=%s",
                url,
            )
        return True, facts


class _CouncilFailure(Exception):
    """Reading one council's provider page or one of its files failed; names the part."""

    def __init__(self, part: str, cause: ScraperError) -> None:
        reason = cause.reason if isinstance(cause, (FetchError, ParseError)) else str(cause)
        super().__init__(f"{part} {reason}")


def report_type(link: ProviderLink, facts: PdfFacts) -> str:
    """The site's label types a report when it is specific; the PDF fills only what it leaves open.

    A full inspection report often recalls the council's earlier JTAI, focused or monitoring
    visits, so its text alone mistypes it; the label says which publication this is. Two
    exceptions: a generic or unknown label defers to the text, and a monitoring label (matched
    loosely, as the site's exact wording is not fixed) yields to a letter that opens as a
    focused-visit letter.
    """
    if link.report_type == "other" or is_generic_label(link.label):
        return facts.report_type or link.report_type
    if link.report_type == "monitoring_visit" and facts.report_type == "focused_visit":
        return "focused_visit"
    return link.report_type


def _caught_up(entry: ListingEntry, links: Sequence[ProviderLink]) -> bool:
    """True when the provider page lists a report dated on or after the listing's latest."""
    if entry.latest_report is None:
        return True
    return any(link.published and link.published >= entry.latest_report for link in links)


def _lagging_warning(entry: ListingEntry) -> str:
    latest = entry.latest_report.isoformat() if entry.latest_report else "?"
    return (
        f"{entry.name} (URN {entry.urn}): the listing shows a report of {latest} that its "
        "provider page does not show yet; reading the page again next poll"
    )


def _key(link: ProviderLink) -> str:
    """The same identity as Report.key."""
    return f"ofsted:{link.file_id}" if link.file_id else f"ofsted:{link.url}"


def _merge(entries: dict[str, ListingEntry], entry: ListingEntry) -> None:
    """An LA on two pages (the boundary shifted between requests): keep the newer date."""
    known = entries.get(entry.urn)
    if known is None or (entry.latest_report or date.min) > (known.latest_report or date.min):
        entries[entry.urn] = entry
