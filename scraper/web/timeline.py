"""Geometry for the server-drawn SVGs: the council timeline and the judgement sparkline.

Only numbers and class names come out of here; the templates write the SVG (autoescaped), and
colours live in the stylesheet, because the Content Security Policy forbids inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scraper.web.data import CouncilView, ReportView, grade

WIDTH, HEIGHT, PAD = 900, 120, 30
SPARK_W, SPARK_H = 120, 24
# Lanes: one row per kind of visit, so marks of different types on close dates do not overlap.
LANES = {"inspection": 0, "monitoring_visit": 1, "focused_visit": 2, "jtai": 3}
LANE_OTHER = 4
SHAPES = {
    "inspection": "circle",
    "monitoring_visit": "square",
    "focused_visit": "diamond",
    "jtai": "triangle",
}
LEVEL = {"outstanding": 0, "good": 1, "requires_improvement": 2, "inadequate": 3}


@dataclass(frozen=True, slots=True)
class Mark:
    """One report on the timeline."""

    report: ReportView
    x: float
    y: float
    shape: str  # circle, square, diamond, triangle, dot
    css: str  # "mark t-<type> j-<judgement>"


@dataclass(frozen=True, slots=True)
class Timeline:
    width: int
    height: int
    marks: list[Mark]
    years: list[tuple[float, int]]  # (x, year) gridlines


def _span(days: list[date], today: date) -> tuple[date, date]:
    first = min(days, default=today)
    return date(first.year, 1, 1), date(max(today.year, max(days, default=today).year) + 1, 1, 1)


def _x(day: date, lo: date, hi: date, width: int) -> float:
    total = (hi - lo).days or 1
    return round(PAD + (width - 2 * PAD) * (day - lo).days / total, 1)


def timeline(view: CouncilView) -> Timeline:
    """A mark per stored report (undated ones sit at the left edge), by type lane and judgement."""
    days = [d for d in (r.day for r in view.reports) if d]
    lo, hi = _span(days, view.today)
    lane_h = (HEIGHT - 2 * 10) / (LANE_OTHER + 1)
    marks = []
    for rv in view.reports:
        rtype = rv.row["report_type"]
        day = rv.day or lo
        lane = LANES.get(rtype, LANE_OTHER)
        css = f"mark t-{rtype} j-{grade(rv.row) or 'none'}"
        y = round(10 + lane_h * (lane + 0.5), 1)
        marks.append(Mark(rv, _x(day, lo, hi, WIDTH), y, SHAPES.get(rtype, "dot"), css))
    years = [(_x(date(y, 1, 1), lo, hi, WIDTH), y) for y in range(lo.year, hi.year + 1)]
    return Timeline(WIDTH, HEIGHT, marks, years)


def sparkline(view: CouncilView) -> str:
    """SVG polyline points of graded judgements over time (top = outstanding); "" if none."""
    graded = [(r.day, grade(r.row)) for r in view.graded if r.day]
    if not graded:
        return ""
    if len(graded) == 1:  # one judgement: a short level stroke, so it is still visible
        graded = [graded[0], graded[0]]
    lo, hi = graded[0][0], graded[-1][0]
    span = (hi - lo).days or 1
    points = []
    for i, (day, g) in enumerate(graded):
        x = 3 + (SPARK_W - 6) * ((day - lo).days / span if hi > lo else i / (len(graded) - 1))
        y = 3 + (SPARK_H - 6) * LEVEL.get(g or "", 3) / 3
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)
