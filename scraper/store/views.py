"""Read-only queries for the web view: pages of detections and reports, per-council history.

Pagination is by keyset (the last row's sort key), not OFFSET: a page costs the same however
deep it is, and rows stored while someone pages through are neither skipped nor repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from scraper.store.db import utc
from scraper.store.schema import detection_councils, detections, reports


@dataclass(frozen=True, slots=True)
class DetectionKey:
    """Where a page of detections stopped: the last row's first_seen and id."""

    first_seen: datetime
    id: str


@dataclass(frozen=True, slots=True)
class ReportKey:
    """Where a page of reports stopped: the last row's published date ("" when unknown) and id."""

    published: str
    id: int


def detection_page(
    conn: Connection,
    *,
    gss_codes: Sequence[str] | None = None,
    report_type: str | None = None,
    kind: str | None = None,
    since: date | None = None,
    include_baseline: bool = True,
    after: DetectionKey | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first (first_seen, then id); `after` continues from a previous page."""
    d = detections.c
    stmt = select(detections).order_by(d.first_seen.desc(), d.id).limit(limit)
    if gss_codes is not None:
        sub = select(detection_councils.c.detection_id).where(
            detection_councils.c.gss_code.in_(list(gss_codes))
        )
        stmt = stmt.where(d.id.in_(sub))
    if report_type:
        stmt = stmt.where(d.report_type == report_type)
    if kind:
        stmt = stmt.where(d.kind == kind)
    if since:
        stmt = stmt.where(d.published >= since.isoformat())
    if not include_baseline:
        stmt = stmt.where(d.baseline.is_(False))
    if after is not None:
        stmt = stmt.where(
            or_(
                d.first_seen < after.first_seen,
                and_(d.first_seen == after.first_seen, d.id > after.id),
            )
        )
    return [_detection(r) for r in conn.execute(stmt).mappings()]


def _detection(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["first_seen"] = utc(out["first_seen"])
    return out


def report_page(
    conn: Connection,
    *,
    urns: Sequence[str] | None = None,
    report_type: str | None = None,
    since: date | None = None,
    after: ReportKey | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest publication first, then newest row; `after` continues from a previous page."""
    r = reports.c
    published = func.coalesce(r.published, "")
    stmt = select(reports).order_by(published.desc(), r.id.desc()).limit(limit)
    if urns is not None:
        stmt = stmt.where(r.urn.in_(list(urns)))
    if report_type:
        stmt = stmt.where(r.report_type == report_type)
    if since:
        stmt = stmt.where(r.published >= since.isoformat())
    if after is not None:
        stmt = stmt.where(
            or_(published < after.published, and_(published == after.published, r.id < after.id))
        )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def council_reports(conn: Connection, urns: Sequence[str]) -> list[dict[str, Any]]:
    """Every stored report of these councils, oldest first (a timeline's order)."""
    r = reports.c
    stmt = (
        select(reports).where(r.urn.in_(list(urns))).order_by(func.coalesce(r.published, ""), r.id)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


NEWS_LIMIT = 200  # the newest news items of a council, tied to its reports on its page


def council_news(conn: Connection, gss_code: str, limit: int = NEWS_LIMIT) -> list[dict[str, Any]]:
    """A council's news detections, newest first."""
    d = detections.c
    sub = select(detection_councils.c.detection_id).where(detection_councils.c.gss_code == gss_code)
    stmt = (
        select(detections)
        .where(and_(d.id.in_(sub), d.kind == "news_article"))
        .order_by(d.first_seen.desc(), d.id)
        .limit(limit)
    )
    return [_detection(row) for row in conn.execute(stmt).mappings()]


def report_anchors(conn: Connection, keys: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    """report_key -> (row id, GSS code): where a report detection's report is shown."""
    if not keys:
        return {}
    r = reports.c
    stmt = select(r.report_key, r.id, r.gss_code).where(r.report_key.in_(list(keys)))
    return {key: (rid, gss) for key, rid, gss in conn.execute(stmt).all()}


# The overview needs each report's type, dates, judgement and link, nothing longer.
SUMMARY = ("id", "urn", "report_type", "label", "url", "published", "visit_dates", "judgement")
SUMMARY_COLUMNS = [reports.c[name] for name in SUMMARY]


def report_summaries(conn: Connection, urns: Sequence[str]) -> list[dict[str, Any]]:
    """Every report of these councils in SUMMARY's columns, oldest first: one query for the
    whole overview instead of one per council."""
    r = reports.c
    stmt = (
        select(*SUMMARY_COLUMNS)
        .where(r.urn.in_(list(urns)))
        .order_by(func.coalesce(r.published, ""), r.id)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def reports_by_id(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    stmt = select(reports).where(reports.c.id.in_(list(ids)))
    return [dict(row) for row in conn.execute(stmt).mappings()]


def latest_news(conn: Connection, gss_codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each council's newest news detection. Walks detections newest first (the first_seen
    index) and stops once every council has one, so it reads few rows when news is recent."""
    d, dc = detections.c, detection_councils.c
    stmt = (
        select(dc.gss_code, detections)
        .join(detection_councils, dc.detection_id == d.id)
        .where(and_(d.kind == "news_article", dc.gss_code.in_(list(gss_codes))))
        .order_by(d.first_seen.desc(), d.id)
    )
    found: dict[str, dict[str, Any]] = {}
    result = conn.execution_options(yield_per=50).execute(stmt).mappings()
    for row in result:
        gss = row["gss_code"]
        if gss not in found:
            found[gss] = _detection({k: v for k, v in row.items() if k != "gss_code"})
            if len(found) == len(set(gss_codes)):
                break
    result.close()
    return found


def data_version(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever a report or detection is stored (both tables are insert-only), so
    a reader can keep what it built from them until then. Three index lookups and a count."""
    return (
        conn.execute(select(func.max(reports.c.id))).scalar(),
        conn.execute(select(func.count()).select_from(detections)).scalar(),
        conn.execute(select(func.max(detections.c.first_seen))).scalar(),
    )
