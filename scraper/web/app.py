"""The WSGI application: routes, the token check, security headers and error pages.

Werkzeug gives routing and request/response objects, Jinja2 the autoescaped templates, and
waitress (see server.py) serves it from threads beside the daemon's scheduler: no build step, no
event loop, a few MB of memory. Everything here reads; nothing writes.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from scraper.clock import LONDON, utcnow
from scraper.settings.config import Settings
from scraper.store import Store

log = logging.getLogger(__name__)

# No script at all: every page works without JavaScript, so nothing needs to be allowed.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
TOKEN_COOKIE = "ofsted_watch_token"  # noqa: S105 - the cookie's name, not a secret
OPEN_PATHS = ("/healthz",)  # probes carry no token
HealthFn = Callable[[], tuple[int, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class LivePoll:
    """What the daemon knows about a source that the database does not keep."""

    requests: int | None = None
    items: int | None = None
    next_poll: datetime | None = None


@dataclass
class Context:
    """What every handler may read: settings (re-read after a reload), the store, the clock."""

    settings: Callable[[], Settings]
    store: Store
    now: Callable[[], datetime] = utcnow
    health: HealthFn | None = None
    metrics: Callable[[], bytes] | None = None
    live: Callable[[], dict[str, LivePoll]] = field(default=lambda: {})
    env: Environment = field(init=False)
    views: Any = field(init=False)  # data.ViewCache: council views, kept until data changes

    def __post_init__(self) -> None:
        from scraper.web.data import ViewCache

        self.views = ViewCache()
        self.env = Environment(
            loader=PackageLoader("scraper.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["london"] = london
        self.env.filters["label"] = label

    def render(self, name: str, status: int = 200, **values: Any) -> Response:
        html = self.env.get_template(name).render(**values)
        return Response(html, status=status, mimetype="text/html")


def london(moment: datetime | None) -> str:
    """A stored UTC moment as people here read it (Europe/London)."""
    return moment.astimezone(LONDON).strftime("%d %b %Y %H:%M") if moment else "—"


def label(value: str | None) -> str:
    """A code such as "requires_improvement" as words."""
    return value.replace("_", " ") if value else "—"


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str)
    return Response(body, status=status, mimetype="application/json")


Handler = Callable[..., Response]


def _routes() -> tuple[Map, dict[str, Handler]]:
    from scraper.web import api, feeds, ical, pages

    handlers: dict[str, Handler] = {
        "index": pages.index,
        "council": pages.council,
        "detections": pages.detections,
        "alerts": pages.alerts,
        "sources": pages.sources,
        "feed": feeds.all_feed,
        "council_feed": feeds.council_feed,
        "calendar": ical.all_calendar,
        "council_calendar": ical.council_calendar,
        "api_councils": api.councils,
        "api_reports": api.reports,
        "api_detections": api.detections,
        "api_sources": api.sources,
        "api_openapi": api.openapi,
        "healthz": _healthz,
        "metrics": _metrics,
        "static": _static,
    }
    rules = [
        Rule("/", endpoint="index", methods=["GET"]),
        Rule("/councils/<gss>", endpoint="council", methods=["GET"]),
        Rule("/councils/<gss>/feed.atom", endpoint="council_feed", methods=["GET"]),
        Rule("/councils/<gss>/calendar.ics", endpoint="council_calendar", methods=["GET"]),
        Rule("/detections", endpoint="detections", methods=["GET"]),
        Rule("/alerts", endpoint="alerts", methods=["GET"]),
        Rule("/sources", endpoint="sources", methods=["GET"]),
        Rule("/feed.atom", endpoint="feed", methods=["GET"]),
        Rule("/calendar.ics", endpoint="calendar", methods=["GET"]),
        Rule("/api/councils", endpoint="api_councils", methods=["GET"]),
        Rule("/api/reports", endpoint="api_reports", methods=["GET"]),
        Rule("/api/detections", endpoint="api_detections", methods=["GET"]),
        Rule("/api/sources", endpoint="api_sources", methods=["GET"]),
        Rule("/api/openapi.json", endpoint="api_openapi", methods=["GET"]),
        Rule("/healthz", endpoint="healthz", methods=["GET"]),
        Rule("/metrics", endpoint="metrics", methods=["GET"]),
        Rule("/static/<name>", endpoint="static", methods=["GET"]),
    ]
    return Map(rules, strict_slashes=False), handlers


class WebApp:
    """The WSGI callable. Only GET and HEAD are routed: the app never changes anything."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.url_map, self.handlers = _routes()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()  # GET and HEAD only: anything else is a 405
            if request.path not in OPEN_PATHS:
                denied = self._check_token(request)
                if denied is not None:
                    return denied
            response = self.handlers[str(endpoint)](self.ctx, request, **args)
            return self._remember_token(request, response)
        except HTTPException as exc:
            return self._error(request, exc)
        except Exception:  # one broken page must not take the server down; the log has it
            log.exception("web: %s failed", request.path)
            return self._error(request, None)

    def _token(self) -> str | None:
        secret = self.ctx.settings().web_token
        return secret.get_secret_value() if secret is not None else None

    def _check_token(self, request: Request) -> Response | None:
        """None when allowed: the header, ?token= (for feed readers) or the cookie it sets."""
        want = self._token()
        if want is None:
            return None
        auth = request.headers.get("Authorization", "")
        offered = [
            auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else "",
            request.args.get("token", ""),
            request.cookies.get(TOKEN_COOKIE, ""),
        ]
        if any(o and hmac.compare_digest(o.encode(), want.encode()) for o in offered):
            return None
        response = Response("a token is required\n", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="ofsted-watch"'
        return response

    def _remember_token(self, request: Request, response: Response) -> Response:
        """A browser that came in with ?token= keeps it in a strict cookie, so links work."""
        token = request.args.get("token")
        if token and self._token() is not None:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    def _error(self, request: Request, exc: HTTPException | None) -> Response:
        """An error page (JSON under /api/) that says what was wrong, never a traceback."""
        status = exc.code if exc is not None and exc.code else 500
        title = exc.name if exc is not None else "Internal Server Error"
        detail = exc.description if exc is not None and status < 500 else None
        if request.path.startswith("/api/"):
            return json_response({"error": title, "detail": detail}, status)
        return self.ctx.render(
            "error.html", status=status, status_code=status, title=title, detail=detail
        )


def _healthz(ctx: Context, request: Request) -> Response:
    """The daemon's health report when it runs the app; alone, whether the store answers."""
    if ctx.health is not None:
        try:
            status, detail = ctx.health()
        except Exception as exc:  # never let a probe see a traceback or hang
            log.warning("healthz failed", exc_info=True)
            status, detail = 503, {"status": "unhealthy", "error": type(exc).__name__}
        return json_response(detail, status)
    try:
        ok = ctx.store.ping()
    except Exception as exc:  # whatever the driver raises, the answer is "store unreachable"
        return json_response({"status": "unhealthy", "store": f"error: {type(exc).__name__}"}, 503)
    return json_response({"status": "ok" if ok else "unhealthy", "store": "ok"})


def _metrics(ctx: Context, request: Request) -> Response:
    if ctx.metrics is None:
        raise NotFound()
    return Response(ctx.metrics(), mimetype="text/plain", content_type=METRICS_TYPE)


METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml"}


def _static(ctx: Context, request: Request, name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in STATIC_TYPES or "/" in name or name.startswith("."):
        raise NotFound()
    path = resources.files("scraper.web").joinpath("static", name)
    if not path.is_file():
        raise NotFound()
    response = Response(path.read_bytes(), mimetype=STATIC_TYPES[suffix])
    response.headers["Cache-Control"] = "max-age=3600"
    return response
