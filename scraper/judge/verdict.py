"""One judging path: classify -> match -> filter by report type, with the reason for the verdict.

A real poll, `test-source` and `fetch --dry-run` all judge through these two functions, so a
preview can never promise a detection that a poll would not make (the two used to drift: the
preview ignored `report_types`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from scraper.judge.classify import classify
from scraper.judge.detect import councils_by_urn, news_detection, report_detection
from scraper.judge.match import Matcher
from scraper.models import (
    Classification,
    Council,
    CouncilMatch,
    Detection,
    Evidence,
    Item,
    Report,
)

NO_MATCH = CouncilMatch()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an item or report becomes a detection, and why (or the rule that rejected it)."""

    detect: bool
    reason: str
    classification: Classification | None = None
    match: CouncilMatch = NO_MATCH
    detection: Detection | None = None


def judge_item(
    item: Item,
    matcher: Matcher,
    *,
    wanted: Collection[str],
    now: datetime,
    explain: bool = False,
    context: Sequence[Council] = (),
) -> Verdict:
    """The verdict on one news item.

    Matching is skipped for an irrelevant item (most of a feed) unless `explain` asks for the
    councils anyway, as `test-source` does to help tune a source. `context` is the source's own
    councils (a council's or trust's newsroom).
    """
    cls = classify(item)
    if not cls.relevant:
        match = matcher.match(item, context=context, explain=True) if explain else NO_MATCH
        return Verdict(False, _rejection(cls), cls, match)
    match = matcher.match(item, context=context, explain=explain)
    if not match.councils:
        why = match.reasons[-1] if match.reasons else "no watched council named"
        return Verdict(False, why, cls, match)
    if cls.report_type not in (None, "other") and cls.report_type not in wanted:
        return Verdict(False, f"report type {cls.report_type} is not watched", cls, match)
    det = news_detection(item, cls, match, now=now)
    det = replace(det, reasons=why_detected(cls, match))
    return Verdict(True, _acceptance(cls, match), cls, match, det)


def why_detected(cls: Classification, match: CouncilMatch) -> tuple[str, ...]:
    """Every rule that let an item through: classification, then how each council was found."""
    found = tuple(f'{e.council}: "{e.text}" in {e.where}' for e in _first_evidence(match))
    return (*cls.reasons, *found, *match.reasons)


def _first_evidence(match: CouncilMatch) -> list[Evidence]:
    """The first piece of evidence for each council (a story names its council many times)."""
    seen: dict[str, Evidence] = {}
    for ev in match.evidence:
        seen.setdefault(ev.council, ev)
    return list(seen.values())


def judge_report(
    report: Report,
    council: Council | None,
    *,
    wanted: Collection[str],
    source: str,
    now: datetime,
) -> Verdict:
    """The verdict on one Ofsted report: a watched council's available report of a wanted type."""
    if council is None:
        return Verdict(False, f"council not on the watchlist: URN {report.urn}")
    if not report.available:
        return Verdict(False, "report file not available")
    if report.report_type not in wanted:
        return Verdict(False, f"report type {report.report_type} is not watched")
    det = report_detection(report, council, source=source, now=now)
    match = CouncilMatch((council,))
    return Verdict(True, f"Ofsted {report.report_type} for {council.short_name}", None, match, det)


def _rejection(cls: Classification) -> str:
    return cls.reasons[-1] if cls.reasons else "no inspection wording"


def _acceptance(cls: Classification, match: CouncilMatch) -> str:
    councils = ", ".join(c.short_name for c in match.councils)
    what = cls.report_type or "inspection"
    reasons = why_detected(cls, match)
    why = f" ({'; '.join(reasons)})" if reasons else ""
    return f"{what} news about {councils}{why}"


class Judge:
    """The watchlist's judging, built once: a real poll, a dry run and test-source share it."""

    def __init__(
        self,
        watched: Sequence[Council],
        report_types: Collection[str],
        *,
        aliases: Mapping[str, Council] | None = None,
        source_councils: Mapping[str, Sequence[Council]] | None = None,
    ) -> None:
        self.matcher = Matcher(watched, aliases=aliases)
        self.wanted = frozenset(report_types)
        self._by_urn = councils_by_urn(watched)
        self._source_councils = dict(source_councils or {})

    def item(self, item: Item, now: datetime, *, explain: bool = False) -> Verdict:
        """The verdict on an item, in the context of the source it came from."""
        context = self._source_councils.get(item.source, ())
        return judge_item(
            item, self.matcher, wanted=self.wanted, now=now, explain=explain, context=context
        )

    def report(self, report: Report, *, source: str, now: datetime) -> Verdict:
        council = self._by_urn.get(report.urn)
        return judge_report(report, council, wanted=self.wanted, source=source, now=now)

    def council_for(self, report: Report) -> Council | None:
        """The watched council a report is about, if any."""
        return self._by_urn.get(report.urn)
