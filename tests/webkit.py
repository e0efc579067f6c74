"""A database seeded through the real pipeline, and the web view served on loopback.

`seed(tmp)` runs the CLI against the loopback Ofsted site (tests/ofsted_world.py) and a news
feed fixture server: `backfill` of five councils, a baseline `fetch` of the news, then the
West Berkshire monitoring letter and a news item whose title carries a `<script>` tag are
published and fetched, with a webhook that answers 503 so the alert queue has a failed alert.
`serving(config)` runs `scraper.web` on 127.0.0.1:0 in this process, as `serve` does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

from scraper.cli.commands import main
from scraper.settings.load import load_settings
from scraper.store import Store
from tests.httpserver import LocalServer, Response
from tests.ofsted_world import OfstedWorld

FIVE = ["West Berkshire", "Reading", "Bath and North East Somerset", "Hull", "Cumberland"]
RSS = "application/rss+xml; charset=utf-8"
SCRIPT_TITLE = '<script>alert("x")</script> Reading Ofsted inspection: what the report says'


@dataclass(frozen=True)
class Seeded:
    config: Path
    db_url: str


def write_config(tmp: Path, server: LocalServer, db_url: str, extra: str = "") -> Path:
    path = tmp / "ofsted-watch.toml"
    path.write_text(
        f"""
[storage]
url = "{db_url}"

[http]
user_agent = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
allow_private = true
retries = 0
min_interval = 0
timeout = 5
deadline = 10

[daemon]
listen = ""
{extra}
[watchlist]
councils = {json.dumps(FIVE)}

[[sources]]
name = "ofsted"
type = "ofsted"
base_url = "{server.url("")}"
min_interval = 0

[[sources]]
name = "news"
type = "feed"
url = "{server.url("/news.xml")}"

[[alerts]]
name = "hook"
type = "webhook"
url = "{server.url("/hook")}"
allow_private = true
""",
        encoding="utf-8",
    )
    return path


def seed(tmp: Path, db_url: str | None = None) -> Seeded:
    """A database filled by the real CLI from loopback fixtures (see the module docstring)."""
    db_url = db_url or f"sqlite:///{tmp}/web.db"
    with LocalServer() as server:
        world = OfstedWorld(server)
        server.route("/news.xml", Response.file("web/news_before.xml", content_type=RSS))
        server.route("/hook", Response(status=503))
        config = write_config(tmp, server, db_url)
        assert main(["--config", str(config), "backfill"]) == 0
        assert main(["--config", str(config), "fetch"]) == 0
        world.publish_west_berkshire_letter()
        server.route("/news.xml", Response.file("web/news_after.xml", content_type=RSS))
        assert main(["--config", str(config), "fetch"]) in (0, 1)  # the webhook answers 503
    return Seeded(config, db_url)


@contextmanager
def serving(config: Path, environ: dict[str, str] | None = None) -> Iterator[str]:
    """The web app on a free loopback port; yields its base URL (no trailing slash)."""
    from scraper.web.app import Context
    from scraper.web.server import WebServer

    settings = load_settings(str(config), environ=environ)
    store = Store.open(settings.storage_url)
    server = WebServer("127.0.0.1:0", Context(settings=lambda: settings, store=store))
    server.start()
    try:
        yield f"http://{server.address}"
    finally:
        server.stop()
        store.close()


@dataclass(frozen=True)
class Got:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def get(url: str, headers: dict[str, str] | None = None) -> Got:
    """GET with urllib (no cookies kept); any status is returned, not raised."""
    try:
        with urlopen(Request(url, headers=headers or {}), timeout=20) as r:
            return Got(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except HTTPError as e:
        return Got(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())
