"""`ofsted-watch fetch` against loopback hosts that misbehave: what the user is told, what is
stored and what is kept between runs (unreachable hosts, Retry-After, credentials in URLs)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from scraper.cli.commands import main
from scraper.store import Store
from scraper.store.schema import source_state
from tests.daemonkit import NewsFeed, news_rss
from tests.httpserver import LocalServer, Request, Response, local_server

__all__ = ["local_server"]  # the fixture, imported for pytest


def fetch_config(path: Path, db_url: str, sources: str, *, robots: bool = False) -> Path:
    """A config polling `sources` on loopback, no retries, short deadlines."""
    path.write_text(
        f"""
[storage]
url = "{db_url}"

[http]
user_agent = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
allow_private = true
respect_robots = {str(robots).lower()}
min_interval = 0
retries = 0
timeout = 5
deadline = 10

[watchlist]
councils = ["West Berkshire"]
{sources}
""",
        encoding="utf-8",
    )
    return path


def feed_source(name: str, url: str) -> str:
    return f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{url}"\n'


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_fetch_names_a_refused_connection_not_robots(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source on a host that refuses connections fails saying so, not "robots.txt unreachable"."""
    url = f"http://127.0.0.1:{closed_port()}/feed"
    config = fetch_config(tmp_path / "c.toml", sqlite_url, feed_source("down", url), robots=True)
    assert main(["--config", str(config), "fetch"]) == 1
    out = capsys.readouterr()
    assert "connection refused" in out.out
    assert "robots" not in out.out + out.err


FEED_TOKEN = "tok-9Hq2-LEAKME"
FEED_PASSWORD = "pw-Zr41-LEAKME"


def _relative_feed(request: Request) -> Response:
    """An RSS feed whose item links are relative (resolved against the feed URL), with an ETag."""
    if request.headers.get("if-none-match") == '"v1"':
        return Response(status=304)
    items = "".join(
        f"<item><title>Ofsted monitoring visit to West Berkshire children's services {k}</title>"
        f"<link>/news/{k}</link><guid>g{k}</guid>"
        "<pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate></item>"
        for k in range(2)
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )
    return Response(body=body.encode(), headers={"ETag": '"v1"', "Content-Type": "text/xml"})


def test_credentials_in_source_urls_are_never_shown_or_stored(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    local_server: LocalServer,
) -> None:
    """user:pass@ and ?token= from ${ENV} reach the server but no output, log or database row."""
    monkeypatch.setenv("FEED_TOKEN", FEED_TOKEN)
    monkeypatch.setenv("FEED_PASSWORD", FEED_PASSWORD)
    local_server.route("/feed", _relative_feed)
    secret_url = f"http://reader:${{FEED_PASSWORD}}@{local_server.netloc}"
    sources = feed_source("news", f"{secret_url}/feed?token=${{FEED_TOKEN}}&page=1")
    sources += feed_source("broken", f"{secret_url}/gone?api_key=${{FEED_TOKEN}}")
    config = fetch_config(tmp_path / "c.toml", sqlite_url, sources)
    args = ["--config", str(config), "-v"]
    assert main([*args, "check-config"]) == 0
    assert main([*args, "fetch"]) == 1  # "broken" answers 404: its error names its URL
    assert main([*args, "--log-format", "json", "fetch"]) == 1
    out = capsys.readouterr()
    assert "tok-9Hq2" in local_server.log[0].path  # the real URL was used
    assert local_server.log[0].headers["authorization"].startswith("Basic ")
    feeds = [e for e in local_server.log if e.path.startswith("/feed")]
    assert feeds[-1].headers.get("if-none-match") == '"v1"'  # validators still work
    assert "token=***" in out.out and "HTTP 404" in out.out
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ofsted-watch.db*"))
    assert b"/news/1" in db_bytes  # the items were stored...
    for secret in (FEED_TOKEN, FEED_PASSWORD):
        assert secret not in out.out + out.err  # ...and no secret in output, logs
        assert secret.encode() not in db_bytes  # or any row (state, items, errors)


class Throttled:
    """A feed answering 429 with Retry-After: 3600 while `throttled`, else `stories`."""

    def __init__(self) -> None:
        self.throttled = False
        self.stories = 1

    def __call__(self, _request: Request) -> Response:
        if self.throttled:
            return Response(status=429, headers={"Retry-After": "3600"})
        return Response(body=news_rss(range(self.stories)), headers={"Content-Type": "text/xml"})


def test_retry_after_is_remembered_by_the_next_fetch(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str], local_server: LocalServer
) -> None:
    """After a 429 with Retry-After: 3600 the next run asks nothing of that host, says so, and
    once the hour is over the next poll alerts what was published meanwhile."""
    route = Throttled()
    local_server.route("/feed", route)
    local_server.route("/other", NewsFeed(1, first=100))
    sources = feed_source("news", local_server.url("/feed"))
    sources += feed_source("same-host", local_server.url("/other"))
    config = str(fetch_config(tmp_path / "c.toml", sqlite_url, sources))
    assert main(["--config", config, "fetch"]) == 0  # the baseline
    route.throttled, route.stories = True, 2
    assert main(["--config", config, "fetch"]) == 1
    asked = len(local_server.log)
    capsys.readouterr()
    assert main(["--config", config, "fetch"]) == 0  # deferred is not a failure
    out = capsys.readouterr().out
    assert len(local_server.log) == asked  # neither source on that host was asked
    assert "deferred" in out and "Retry-After" in out and "until" in out
    store = Store.open(sqlite_url)
    state = store.load_state("news")
    assert state.consecutive_failures == 1 and state.not_before is not None
    with store.engine.begin() as conn:  # the hour is over
        conn.execute(update(source_state).values(not_before=datetime.now(UTC) - timedelta(1)))
    route.throttled = False
    assert main(["--config", config, "--quiet", "fetch", "--json"]) == 0
    new = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["url"] for d in new] == ["https://news1.example.org/2026/11/story-1"]
    assert store.load_state("news").not_before is None
    store.close()
