"""When a council's next Ofsted visit is expected, from the inspection framework and its history.

The rules follow Ofsted's framework for inspecting local authority children's services (ILACS,
2018 on) as it is published and as councils describe it to their staff:

- a council judged **inadequate** gets monitoring visits, roughly quarterly, until it is
  re-inspected (usually some two to three years after the inadequate judgement);
- a council judged **requires improvement** gets a standard inspection, and one judged **good** or
  **outstanding** a short inspection, "usually between six months before and six months after
  the three-year anniversary" of its last inspection;
- between those inspections a council that is not inadequate usually gets one focused visit (or
  a joint targeted area inspection, which is chosen by theme and cannot be predicted).

A window is a range of dates in which the *next* visit of any of these kinds should start. It is
computed from the reports published up to a day (`as_of`), so the same function measures the
rules on history: for each past report, would the window computed the day before have held it?
Pure: dates in, dates out; no store, no clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

GRADED = "inspection"
PREDICTED = ("monitoring_visit", "focused_visit", "inspection")  # what the rules can foresee
MEASURED = (*PREDICTED, "jtai")  # JTAIs count against the rules: they are ILACS visits too
MONITORING_GAP = (2, 6)  # months after the last visit: quarterly, with slack either side
REINSPECTION_AFTER = 24  # months after an inadequate judgement a re-inspection becomes likely
CYCLE = (30, 42)  # months after a graded inspection: the third anniversary +/- 6 months
FOCUSED = (9, 30)  # months after a graded inspection: the focused visit between inspections
OVERDUE_GRACE = 3  # months: a window that has passed is carried forward this far


@dataclass(frozen=True, slots=True)
class Visit:
    """One stored report reduced to what the rules read: its type, judgement and date."""

    report_type: str
    on: date  # the first visit day when known, else the publication date
    judgement: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """The dates in which the next visit should start, what it will be, and why."""

    kind: str  # the report type expected, e.g. "monitoring_visit"
    start: date
    end: date
    basis: str  # the rule applied, in words
    overdue: bool = False

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expected_window(history: Iterable[Visit], as_of: date, *, carry: bool = True) -> Window | None:
    """The next visit's window from the visits on or before `as_of`; None without a graded
    inspection to count from (the framework's cycle starts at one). With `carry`, a window
    already past is moved to start at `as_of` (what a reader wants to see); without, the rule's
    own window is kept (what the measurement tests: a late visit is a miss, not a hit)."""
    past = sorted((v for v in history if v.on <= as_of), key=lambda v: v.on)
    graded = [v for v in past if v.report_type == GRADED and v.judgement]
    if not graded:
        return None
    last = graded[-1]
    since = [v for v in past if v.on > last.on]
    window = _inadequate(last, since) if last.judgement == "inadequate" else _cycle(last, since)
    return _carry_forward(window, as_of) if carry else window


def _inadequate(last: Visit, since: Sequence[Visit]) -> Window:
    visits = [v for v in since if v.report_type == "monitoring_visit"]
    anchor = visits[-1].on if visits else last.on
    start, end = add_months(anchor, MONITORING_GAP[0]), add_months(anchor, MONITORING_GAP[1])
    n = len(visits)
    basis = (
        f"judged inadequate on {last.on:%d %B %Y}; monitoring visits are about quarterly "
        f"until re-inspection, so visit {n + 1} is due 2 to 6 months after "
        + (f"visit {n} ({anchor:%d %B %Y})" if n else "the inspection")
    )
    if add_months(last.on, REINSPECTION_AFTER) <= end:
        basis += "; a re-inspection is also likely from two years after the judgement"
        return Window("inspection", start, end, basis)
    return Window("monitoring_visit", start, end, basis)


def _cycle(last: Visit, since: Sequence[Visit]) -> Window:
    label = (last.judgement or "").replace("_", " ")
    kind = "standard" if last.judgement == "requires_improvement" else "short"
    between = [v for v in since if v.report_type in ("focused_visit", "jtai")]
    focused_end = add_months(last.on, FOCUSED[1])
    if not between and _no_monitoring(since):
        return Window(
            "focused_visit",
            add_months(last.on, FOCUSED[0]),
            focused_end,
            f"judged {label} on {last.on:%d %B %Y}; one focused visit usually comes between "
            "inspections, 9 to 30 months after",
        )
    return Window(
        "inspection",
        add_months(last.on, CYCLE[0]),
        add_months(last.on, CYCLE[1]),
        f"judged {label} on {last.on:%d %B %Y}; a {kind} inspection comes within six months "
        "either side of the third anniversary",
    )


def _no_monitoring(since: Sequence[Visit]) -> bool:
    """No monitoring visit since: a council monitored after a later lapse follows that path."""
    return not any(v.report_type == "monitoring_visit" for v in since)


def _carry_forward(window: Window, as_of: date) -> Window:
    """A window already past means the visit is late: expect it from now, for a while."""
    if window.end >= as_of:
        return window
    return Window(
        window.kind,
        as_of,
        add_months(as_of, OVERDUE_GRACE),
        f"{window.basis}; that window closed on {window.end:%d %B %Y}, so it is overdue",
        overdue=True,
    )


@dataclass(frozen=True, slots=True)
class HitRate:
    """How often the window computed the day before a visit contained it, for one type."""

    report_type: str
    hits: int
    total: int

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


def measure(histories: Iterable[Sequence[Visit]]) -> list[HitRate]:
    """For every measured visit with a graded inspection before it: was it in the window?"""
    hits = dict.fromkeys(MEASURED, 0)
    totals = dict.fromkeys(MEASURED, 0)
    for history in histories:
        for visit in history:
            if visit.report_type not in MEASURED:
                continue
            window = expected_window(history, visit.on - timedelta(days=1), carry=False)
            if window is None:
                continue
            totals[visit.report_type] += 1
            hits[visit.report_type] += window.contains(visit.on)
    return [HitRate(t, hits[t], totals[t]) for t in MEASURED]
