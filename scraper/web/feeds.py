"""Atom 1.0 feeds of detections, built with feedgen (which escapes every string it is given).

Entry ids are tag URIs made from the detection id, which is itself stable (the same report or
story always gets the same id), so a feed reader never sees an entry twice across restarts.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from scraper.web.app import Context
from scraper.web.pages import watched_council

ENTRIES = 100  # newest entries per feed
TAG = "tag:ofsted-watch,2026:"


def entry_id(detection_id: str) -> str:
    return f"{TAG}detection/{quote(detection_id, safe='')}"


def _published(row: dict[str, Any]) -> datetime:
    if row.get("published"):
        day = datetime.fromisoformat(row["published"]).date()
        return datetime.combine(day, time(), tzinfo=UTC)
    first_seen: datetime = row["first_seen"]
    return first_seen


def build_feed(rows: list[dict[str, Any]], *, feed_id: str, title: str, self_url: str) -> bytes:
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(f"{TAG}{feed_id}")
    fg.title(title)
    fg.author({"name": "ofsted-watch"})
    fg.link(href=self_url, rel="self")
    fg.link(href=self_url.rsplit("/feed.atom", 1)[0] or "/", rel="alternate")
    fg.language("en-GB")
    fg.updated(max((r["first_seen"] for r in rows), default=datetime(2000, 1, 1, tzinfo=UTC)))
    for row in rows:
        fe = fg.add_entry(order="append")
        fe.id(entry_id(row["id"]))
        fe.title(row["title"])
        if row.get("url"):
            fe.link(href=row["url"], rel="alternate")
        fe.published(_published(row))
        fe.updated(row["first_seen"])
        names = ", ".join(c.get("name", "") for c in row.get("councils") or [])
        kind = (row.get("report_type") or row["kind"]).replace("_", " ")
        fe.summary(f"{names}: {kind}. {row.get('summary') or ''}".strip())
        for term in {row["kind"], row.get("report_type")} - {None}:
            fe.category(term=term)
    body: bytes = fg.atom_str(pretty=True)
    return body


def _respond(body: bytes) -> Response:
    return Response(body, mimetype="application/atom+xml")


def all_feed(ctx: Context, request: Request) -> Response:
    rows = ctx.store.detection_page(limit=ENTRIES)
    url = request.host_url.rstrip("/") + "/feed.atom"
    return _respond(
        build_feed(rows, feed_id="feed/all", title="ofsted-watch: detections", self_url=url)
    )


def council_feed(ctx: Context, request: Request, gss: str) -> Response:
    council = watched_council(ctx, gss)
    rows = ctx.store.detection_page(gss_codes=[council.gss_code], limit=ENTRIES)
    url = f"{request.host_url.rstrip('/')}/councils/{council.gss_code}/feed.atom"
    title = f"ofsted-watch: {council.short_name}"
    return _respond(build_feed(rows, feed_id=f"feed/{council.gss_code}", title=title, self_url=url))
