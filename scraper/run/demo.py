"""`ofsted-watch demo`: the whole flow offline. A loopback replay of the Ofsted site and three
news feeds (recorded pages shipped in scraper/data/demo) is polled twice into a temporary
database: a silent baseline, then a poll after new reports and stories have "appeared"."""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scraper.alerts.channels.formats import render_json
from scraper.clock import utcnow
from scraper.models import AlertPayload
from scraper.run.pipeline import RunSummary
from scraper.run.tasks import open_store, poll_once
from scraper.settings.load import load_settings

_HOSTS = (
    b"https://reports.ofsted.gov.uk",
    b"https://files.api.ofsted.gov.uk",
    b"https://files.ofsted.gov.uk",
)
_FEEDS = {  # path -> recorded feed; before the "news" the items are cut out
    "/kennet/feed": "kennet_radio.xml",
    "/communitycare/feed": "communitycare_feed.xml",
    "/google-news/rss": "google_news_reading.xml",
}
_ITEMS = re.compile(rb"<item>.*?</item>", re.S)
_CONFIG = """
[storage]
url = "sqlite:///demo.db"

[http]
user_agent = "ofsted-watch-demo/1.0 (+mailto:demo@example.org)"
allow_private = true
respect_robots = false
retries = 0
min_interval = 0

[daemon]
listen = ""

[watchlist]
councils = ["West Berkshire", "Reading", "Bath and North East Somerset"]

[[sources]]
name = "ofsted"
type = "ofsted"
base_url = "{base}"
fetch_pdfs = false
min_interval = 0
"""


@dataclass(frozen=True, slots=True)
class DemoResult:
    baseline: RunSummary  # the first poll: what was already there, recorded silently
    poll: RunSummary  # the second poll: what is new
    alert: dict[str, Any] | None  # one alert's webhook body


class _Site:
    """What the replay serves now; `publish()` moves it from before to after."""

    def __init__(self) -> None:
        self.after = False
        self.base = ""

    def page(self, path: str, query: str) -> tuple[bytes, str] | None:
        if path == "/search":
            start = parse_qs(query).get("start", ["0"])[0]
            name = "search_la_p2.html" if start != "0" else "search_la_p1.html"
            if name == "search_la_p1.html" and self.after:
                name = "search_la_p1_t1.html"
            return self._html(name)
        m = re.fullmatch(r"/provider/44/(\d+)", path)
        if m:
            urn = m.group(1)
            suffix = ("_t1" if self.after else "_t0") if urn == "80577" else ""
            return self._html(f"provider_44_{urn}{suffix}.html")
        if path in _FEEDS:
            body = _read(_FEEDS[path])
            return (body if self.after else _ITEMS.sub(b"", body)), "application/rss+xml"
        return None

    def _html(self, name: str) -> tuple[bytes, str] | None:
        try:
            body = _read(name)
        except FileNotFoundError:
            return None
        for host in _HOSTS:
            body = body.replace(host, self.base.encode())
        return body, "text/html; charset=utf-8"


def _read(name: str) -> bytes:
    return resources.files("scraper").joinpath("data", "demo", name).read_bytes()


def _handler(site: _Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            found = site.page(parts.path, parts.query)
            body, kind = found if found else (b"not found", "text/plain")
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:  # the demo prints its own story
            return

    return Handler


@contextmanager
def _serving(site: _Site) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    try:
        site.base = f"http://127.0.0.1:{server.server_address[1]}"
        yield site.base
    finally:
        server.shutdown()
        server.server_close()


def _write_config(folder: Path, base: str) -> Path:
    text = _CONFIG.format(base=base)
    for path, name in _FEEDS.items():
        source = name.split(".")[0].replace("_", "-")
        text += f'\n[[sources]]\nname = "{source}"\ntype = "feed"\nurl = "{base}{path}"\n'
    config = folder / "demo.toml"
    config.write_text(text, encoding="utf-8")
    return config


def run_demo() -> DemoResult:
    """Baseline, publish, poll; everything in a temporary folder removed afterwards."""
    site = _Site()
    with tempfile.TemporaryDirectory(prefix="ofsted-watch-demo-") as tmp, _serving(site) as base:
        settings = load_settings(str(_write_config(Path(tmp), base)))
        store = open_store(settings)
        try:
            baseline = poll_once(settings, store, None, dry_run=False)
            site.after = True
            poll = poll_once(settings, store, None, dry_run=False)
        finally:
            store.close()
    first = poll.detections[0].payload() if poll.detections else None
    return DemoResult(baseline, poll, _webhook_body(first) if first else None)


def _webhook_body(payload: AlertPayload) -> dict[str, Any]:
    """The JSON a webhook channel with `format = "json"` would POST for this detection."""
    return render_json(payload, "detection.created", utcnow())
