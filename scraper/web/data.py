"""What the pages, feeds, API and calendar show about a council, assembled once from the store.

News coverage is tied to the report it covers here: same council, a compatible type (the
article names that type or none), published from a few days before the report (councils and
papers sometimes break the news before the site lists the file) to some weeks after it.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from scraper.judge.visits import Visit, Window, expected_window
from scraper.models import Council
from scraper.store import Store

COVERAGE_BEFORE = timedelta(days=3)
COVERAGE_AFTER = timedelta(days=42)
GRADES = ("outstanding", "good", "requires_improvement", "inadequate")


@dataclass(frozen=True, slots=True)
class Coverage:
    """One news article tied to the report it covers, with its lag after publication."""

    news: dict[str, Any]
    lag_days: int


@dataclass(slots=True)
class ReportView:
    """A stored report row, its publication day (parsed once) and the news that covered it."""

    row: dict[str, Any]
    coverage: list[Coverage] = field(default_factory=list)
    day: date | None = field(init=False)

    def __post_init__(self) -> None:
        self.day = report_day(self.row)

    @property
    def first_lag(self) -> int | None:
        return min((c.lag_days for c in self.coverage), default=None)


@dataclass(frozen=True)
class CouncilView:
    """Everything shown about one watched council."""

    council: Council
    reports: list[ReportView]  # oldest first
    news: list[dict[str, Any]]  # newest first
    window: Window | None
    today: date

    @cached_property
    def graded(self) -> list[ReportView]:
        return [r for r in self.reports if r.row["report_type"] == "inspection" and grade(r.row)]

    @property
    def latest_graded(self) -> ReportView | None:
        graded = self.graded
        return graded[-1] if graded else None

    @property
    def latest_report(self) -> ReportView | None:
        return self.reports[-1] if self.reports else None

    @property
    def latest_news(self) -> dict[str, Any] | None:
        return self.news[0] if self.news else None

    @property
    def inadequate_day(self) -> date | None:
        """The day of the judgement the council is still under, when that is inadequate."""
        last = self.latest_graded
        return last.day if last and grade(last.row) == "inadequate" else None

    @property
    def months_since_inadequate(self) -> int | None:
        day = self.inadequate_day
        if day is None:
            return None
        return (self.today.year - day.year) * 12 + self.today.month - day.month

    @property
    def monitoring_since(self) -> int | None:
        day = self.inadequate_day
        if day is None:
            return None
        return sum(
            1
            for r in self.reports
            if r.row["report_type"] == "monitoring_visit" and r.day and r.day > day
        )


def grade(row: dict[str, Any]) -> str | None:
    judgement = row.get("judgement")
    return judgement if judgement in GRADES else None


@lru_cache(maxsize=16384)  # the same few thousand dates are parsed on every overview
def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def report_day(row: dict[str, Any]) -> date | None:
    """When the report appeared on the site (its published date)."""
    return _day(row.get("published"))


VISIT_TO_REPORT = timedelta(days=365)  # a report follows its visit by weeks, never years


def visit_day(row: dict[str, Any]) -> date | None:
    """When the visit began: the first visit date the PDF gave, else the publication date.

    A visit date after publication, or more than a year before it, is a misread (a date
    quoted from an earlier report), so publication is the safer clock then.
    """
    published = report_day(row)
    dates = row.get("visit_dates") or []
    visited = _day(dates[0]) if dates else None
    if visited is None or published is None:
        return visited or published
    return visited if timedelta(0) <= published - visited <= VISIT_TO_REPORT else published


def news_day(det: dict[str, Any]) -> date | None:
    day = _day(det.get("published"))
    seen = det.get("first_seen")
    if day is None and isinstance(seen, datetime):
        return seen.date()
    return day


def visits(rows: list[dict[str, Any]]) -> list[Visit]:
    """Stored reports as the visit rules read them (reports without a date are left out)."""
    out = []
    for row in rows:
        day = visit_day(row)
        if day is not None:
            out.append(Visit(row["report_type"], day, grade(row)))
    return out


def link_coverage(reports: list[ReportView], news: list[dict[str, Any]]) -> None:
    """Attach each news article to the nearest report it can be covering, if any.

    Reports are sorted by day once and each article looks only at the few in its date range
    (bisect), so a council page with hundreds of each stays fast.
    """
    dated = sorted((r for r in reports if r.day is not None), key=lambda r: r.day or date.min)
    days = [r.day or date.min for r in dated]
    for det in news:
        day = news_day(det)
        if day is None:
            continue
        lo = bisect_left(days, day - COVERAGE_AFTER)
        hi = bisect_right(days, day + COVERAGE_BEFORE)
        best: tuple[int, ReportView] | None = None
        for rv in dated[lo:hi]:
            if not _compatible(det.get("report_type"), rv.row["report_type"]):
                continue
            lag = (day - (rv.day or day)).days
            if best is None or abs(lag) < abs(best[0]):
                best = (lag, rv)
        if best is not None:
            best[1].coverage.append(Coverage(det, best[0]))


def _compatible(news_type: str | None, report_type: str) -> bool:
    return news_type is None or news_type == report_type


def council_view(store: Store, council: Council, today: date) -> CouncilView:
    """One council's reports, news, coverage links and expected next visit (its own page)."""
    urns = [council.ofsted_urn] if council.ofsted_urn else []
    rows, news = store.council_history(urns, council.gss_code)
    reports = [ReportView(row) for row in rows]
    link_coverage(reports, news)
    window = expected_window(visits(rows), today)
    return CouncilView(council, reports, news, window, today)


class ViewCache:
    """Council views, rebuilt only when the stored data (or the day, or the watchlist)
    changes: reports and detections are insert-only, so a version read from three index
    lookups says when. Every view of `/`, a council page or a calendar would otherwise re-read
    and re-link every report and news item of the councils it shows."""

    SIZE = 4  # the overview and the few council pages in use; each holds its rows in memory

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[CouncilView]]] = {}

    def summaries(
        self, store: Store, councils: Sequence[Council], today: date
    ) -> list[CouncilView]:
        """The overview rows of these councils (see council_summaries)."""
        key = ("summary", today, tuple(c.gss_code for c in councils))
        return self._get(store, key, lambda: council_summaries(store, councils, today))

    def council(self, store: Store, council: Council, today: date) -> CouncilView:
        """One council's full view, coverage linked (see council_view)."""
        key = ("council", today, council.gss_code)
        return self._get(store, key, lambda: [council_view(store, council, today)])[0]

    def _get(
        self, store: Store, key: tuple[Any, ...], build: Callable[[], list[CouncilView]]
    ) -> list[CouncilView]:
        version = store.data_version()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                return hit[1]
        views = build()
        with self._lock:
            if len(self._entries) >= self.SIZE:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (version, views)
        return views


def council_summaries(store: Store, councils: Sequence[Council], today: date) -> list[CouncilView]:
    """Every council's overview row from two queries (their reports without long text, and
    each one's newest news item); no coverage links. For `/`, the calendars and the API."""
    urns = [c.ofsted_urn for c in councils if c.ofsted_urn]
    rows, news = store.council_summaries(urns, [c.gss_code for c in councils])
    by_urn: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_urn.setdefault(row["urn"], []).append(row)
    out = []
    for c in councils:
        mine = by_urn.get(c.ofsted_urn or "", [])
        latest = [news[c.gss_code]] if c.gss_code in news else []
        window = expected_window(visits(mine), today)
        out.append(CouncilView(c, [ReportView(r) for r in mine], latest, window, today))
    return out
