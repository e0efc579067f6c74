"""The JSON API: the CLI's objects (`detections --json`, `reports --json`) in pages.

Every list answers `{"items": [...], "next_cursor": "…" | null}`; pass `cursor` back for the
next page. Filters are the CLI's: `council`, `type`, `kind`, `since` (and `limit`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from scraper.clock import iso_utc
from scraper.judge.councils import load_register
from scraper.judge.visits import Window
from scraper.store.records import payload, report_payload
from scraper.web.app import Context, json_response
from scraper.web.data import CouncilView, grade
from scraper.web.pages import source_rows, today
from scraper.web.query import fetch_detections, fetch_reports, parse_filters


def detection_json(row: dict[str, Any]) -> dict[str, Any]:
    """A stored detection exactly as `detections --json` prints it (the AlertPayload)."""
    return payload(row).data()


def report_json(row: dict[str, Any]) -> dict[str, Any]:
    """A stored report exactly as `reports --json` prints it (the ReportRecord)."""
    council = load_register().by_urn(row["urn"])
    return report_payload(row, [council.ref()] if council else []).data()


def window_json(w: Window | None) -> dict[str, Any] | None:
    if w is None:
        return None
    return {
        "kind": w.kind,
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "basis": w.basis,
        "overdue": w.overdue,
    }


def council_json(v: CouncilView, full: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A council's overview; `full` holds the complete rows of the latest reports by id."""
    g = v.latest_graded
    latest = full.get(v.latest_report.row["id"]) if v.latest_report else None
    return {
        **v.council.ref(),
        "latest_judgement": grade(g.row) if g else None,
        "latest_judgement_published": g.row["published"] if g else None,
        "months_since_inadequate": v.months_since_inadequate,
        "monitoring_visits_since": v.monitoring_since,
        "latest_report": report_json(latest) if latest else None,
        "latest_news": detection_json(v.latest_news) if v.latest_news else None,
        "expected_visit": window_json(v.window),
    }


def councils(ctx: Context, request: Request) -> Response:
    f = parse_filters(request)
    watched = ctx.settings().watched
    if f.councils is not None:
        watched = tuple(c for c in watched if c in f.councils)
    views = ctx.views.summaries(ctx.store, watched, today(ctx))
    latest = [v.latest_report.row["id"] for v in views if v.latest_report]
    full = {row["id"]: row for row in ctx.store.reports_by_id(latest)}  # with their long text
    items = [council_json(v, full) for v in views]
    return json_response({"items": items, "next_cursor": None})


def reports(ctx: Context, request: Request) -> Response:
    rows, cursor = fetch_reports(ctx.store, parse_filters(request))
    return json_response({"items": [report_json(r) for r in rows], "next_cursor": cursor})


def detections(ctx: Context, request: Request) -> Response:
    rows, cursor = fetch_detections(ctx.store, parse_filters(request))
    return json_response({"items": [detection_json(r) for r in rows], "next_cursor": cursor})


def sources(ctx: Context, request: Request) -> Response:
    items = [{k: _plain(v) for k, v in row.items()} for row in source_rows(ctx)]
    return json_response({"items": items, "next_cursor": None})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def openapi(ctx: Context, request: Request) -> Response:
    from scraper.web.openapi import document

    return json_response(document())
