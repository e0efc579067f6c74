"""iCalendar feeds of expected visit windows, built with the icalendar library.

One all-day event per watched council spanning its window. The UID is the council's, so when
a new report moves the window, subscribed calendars update the event instead of adding one.
"""

from __future__ import annotations

from datetime import timedelta

from werkzeug.wrappers import Request, Response

from scraper.web.app import Context
from scraper.web.data import CouncilView
from scraper.web.pages import today, watched_council


def build_calendar(views: list[CouncilView], *, name: str, stamp_now: object) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//ofsted-watch//expected visits//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for v in views:
        w = v.window
        if w is None:
            continue
        ev = Event()
        ev.add("uid", f"expected-visit-{v.council.gss_code}@ofsted-watch")
        ev.add("dtstamp", stamp_now)
        ev.add("dtstart", w.start)
        ev.add("dtend", w.end + timedelta(days=1))  # DTEND of an all-day event is exclusive
        ev.add("summary", f"{v.council.short_name}: {w.kind.replace('_', ' ')} expected")
        ev.add("description", f"Basis: {w.basis}.")
        ev.add("transp", "TRANSPARENT")
        ev.add("categories", [w.kind])
        cal.add_component(ev)
    body: bytes = cal.to_ical()
    return body


def _respond(body: bytes) -> Response:
    return Response(body, mimetype="text/calendar")


def all_calendar(ctx: Context, request: Request) -> Response:
    day = today(ctx)
    views = ctx.views.summaries(ctx.store, ctx.settings().watched, day)
    name = "ofsted-watch: expected visits"
    return _respond(build_calendar(views, name=name, stamp_now=ctx.now()))


def council_calendar(ctx: Context, request: Request, gss: str) -> Response:
    council = watched_council(ctx, gss)
    view = ctx.views.summaries(ctx.store, [council], today(ctx))[0]
    name = f"ofsted-watch: {council.short_name} expected visits"
    return _respond(build_calendar([view], name=name, stamp_now=ctx.now()))
