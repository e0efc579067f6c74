"""The HTML pages: overview, one council, detections, the alert queue and the sources."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request, Response

from scraper.clock import LONDON
from scraper.models import KINDS, REPORT_TYPES, Council
from scraper.web.app import Context, LivePoll
from scraper.web.query import fetch_detections, parse_filters
from scraper.web.timeline import SPARK_H, SPARK_W, sparkline, timeline

STATUSES = ("pending", "sending", "failed", "dead", "delivered")


def today(ctx: Context) -> date:
    return ctx.now().astimezone(LONDON).date()


def watched_council(ctx: Context, gss: str) -> Council:
    """A watched council by GSS code; anything else is a 404 (nothing is stored for it)."""
    for c in ctx.settings().watched:
        if gss in (c.gss_code, *c.other_gss_codes):
            return c
    raise NotFound(f"{gss} is not a watched council")


def index(ctx: Context, request: Request) -> Response:
    day = today(ctx)
    views = ctx.views.summaries(ctx.store, ctx.settings().watched, day)
    rows = [(v, sparkline(v)) for v in views]
    return ctx.render("index.html", rows=rows, spark_w=SPARK_W, spark_h=SPARK_H, nav="index")


def council(ctx: Context, request: Request, gss: str) -> Response:
    view = ctx.views.council(ctx.store, watched_council(ctx, gss), today(ctx))
    linked = {id(c.news) for r in view.reports for c in r.coverage}
    unlinked = [n for n in view.news if id(n) not in linked]
    return ctx.render(
        "council.html",
        view=view,
        tl=timeline(view),
        unlinked=unlinked,
        nav="index",
        token=request.args.get("token", ""),
    )


def detections(ctx: Context, request: Request) -> Response:
    f = parse_filters(request)
    rows, cursor = fetch_detections(ctx.store, f)
    reports = [r["id"] for r in rows if r["kind"] == "ofsted_report"]
    anchors = ctx.store.report_anchors(reports)
    return ctx.render(
        "detections.html",
        rows=rows,
        anchors=anchors,
        f=f,
        next_args=f.args(cursor=cursor) if cursor else None,
        watched=ctx.settings().watched,
        kinds=KINDS,
        report_types=REPORT_TYPES,
        nav="detections",
    )


def alerts(ctx: Context, request: Request) -> Response:
    rows = ctx.store.alerts()
    by_status = {s: [r for r in rows if r.status == s] for s in STATUSES}
    counts = Counter(r.status for r in rows)
    return ctx.render(
        "alerts.html",
        by_status=by_status,
        counts=counts,
        disabled=ctx.store.disabled_channels(),
        nav="alerts",
    )


def sources(ctx: Context, request: Request) -> Response:
    return ctx.render("sources.html", rows=source_rows(ctx), nav="sources")


def source_rows(ctx: Context) -> list[dict[str, Any]]:
    """Per configured source: what the store remembers, plus what the daemon knows live."""
    from scraper.run.schedule import source_interval

    states = {s.name: s for s in ctx.store.states()}
    live = ctx.live()
    out = []
    for cfg in ctx.settings().sources:
        s = states.get(cfg.name)
        poll = live.get(cfg.name, LivePoll())
        next_poll = poll.next_poll
        if next_poll is None and s is not None and s.last_poll_at and not cfg.cron:
            next_poll = s.last_poll_at + timedelta(seconds=source_interval(cfg))
        out.append(
            {
                "name": cfg.name,
                "type": cfg.type,
                "schedule": f"cron {cfg.cron}" if cfg.cron else f"every {cfg.every or '1h'}",
                "last_success": s.last_success_at if s else None,
                "last_failure": s.last_failure_at if s else None,
                "last_error": s.last_error if s else None,
                "consecutive_failures": s.consecutive_failures if s else 0,
                "polls": s.polls if s else 0,
                "requests": poll.requests,
                "items": poll.items,
                "next_poll": next_poll,
            }
        )
    return out
