"""`ofsted-watch fetch` against loopback hosts that misbehave: what the user is told, what is
stored and what is kept between runs (unreachable hosts, Retry-After, credentials in URLs)."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def html_source(name: str, url: str, extra: str = "") -> str:
    return (
        f'\n[[sources]]\nname = "{name}"\ntype = "html"\nurl = "{url}"\n'
        f'item = "article"\ntitle = "h2"\nlink = "a"\n{extra}\n'
    )


def test_html_page_of_nested_divs_fails_fast_and_clearly(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str], local_server: LocalServer
) -> None:
    """10 MiB of unclosed nested <div> is refused by the 2 MiB HTML cap, and with max_bytes
    raised past it, by the nesting limit: a clear error each, in well under a second's work."""
    bomb = b"<html><body>" + b"<div>" * (10 * 1024 * 1024 // 5)
    local_server.route("/bomb", Response(body=bomb, headers={"Content-Type": "text/html"}))
    sources = html_source("capped", local_server.url("/bomb"))
    sources += html_source("raised", local_server.url("/bomb?x=1"), "max_bytes = 16_000_000")
    config = fetch_config(tmp_path / "c.toml", sqlite_url, sources)
    started = time.monotonic()
    assert main(["--config", str(config), "fetch"]) == 1
    took = time.monotonic() - started
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert "exceeds max_bytes 2097152" in lines["capped"]
    assert "nested deeper than 255 levels" in lines["raised"]
    assert took < 20  # about 1 s here; BeautifulSoup alone took 30-110 s and 1.2 GB


TITLES = (
    "Ofsted inspection rates West Berkshire children's services good",
    "Monitoring visit: inspectors find slow progress for care leavers in West Berkshire",
)


def story(k: int) -> str:
    """One WordPress-like RSS item about West Berkshire; its guid first, so a cut after the
    title keeps the identity."""
    return (
        f'<item><guid isPermaLink="false">https://news{k}.example.org/?p={k}</guid>'
        f"<title>{TITLES[k]}</title><link>https://news{k}.example.org/2026/11/story-{k}/</link>"
        "<pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate>"
        "<description>Ofsted inspectors found West Berkshire Council's children's services had "
        f"improved at monitoring visit number {k}.</description></item>"
    )


class Cuttable:
    """An RSS feed of stories 0 and 1, served whole or cut just before story 1's <link>."""

    def __init__(self) -> None:
        self.stories = [0]
        self.cut = False

    def __call__(self, _request: Request) -> Response:
        body = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        body += "".join(story(k) for k in self.stories) + "</channel></rss>"
        if self.cut:
            body = body[: body.index("<link>https://news1.")]
        return Response(body=body.encode(), headers={"Content-Type": "application/rss+xml"})


def _fetch_json(config: str, capsys: pytest.CaptureFixture[str]) -> tuple[list[Any], str]:
    code = main(["--config", config, "fetch", "--json", "--no-alerts"])
    out = capsys.readouterr()
    assert code == 0, out
    return [json.loads(line) for line in out.out.splitlines()], out.err


@pytest.mark.parametrize("whole_next", [True, False])
def test_item_cut_short_waits_a_poll_for_its_link(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    local_server: LocalServer,
    whole_next: bool,
) -> None:
    """An item without a link (feed cut mid-item) is held; the next poll alerts it whole, or,
    still cut, alerts what there is and says so."""
    feed = Cuttable()
    local_server.route("/feed", feed)
    sources = feed_source("news", local_server.url("/feed"))
    config = str(fetch_config(tmp_path / "c.toml", sqlite_url, sources))
    assert _fetch_json(config, capsys)[0] == []  # the baseline
    feed.stories, feed.cut = [0, 1], True
    new, log = _fetch_json(config, capsys)
    assert new == [] and "holding until the next poll an item without its link" in log
    feed.cut = not whole_next
    new, log = _fetch_json(config, capsys)
    assert [d["title"] for d in new] == [TITLES[1]]
    if whole_next:
        assert new[0]["url"] == "https://news1.example.org/2026/11/story-1"
    else:
        assert new[0]["url"] is None and "alerting, still incomplete, an item" in log
    assert _fetch_json(config, capsys)[0] == []  # once


def test_request_counts_come_from_the_fetch_layer(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str], local_server: LocalServer
) -> None:
    """A poll's request count is every request the host saw, robots.txt included."""
    local_server.route("/feed", NewsFeed(1))
    sources = feed_source("news", local_server.url("/feed"))
    config = fetch_config(tmp_path / "c.toml", sqlite_url, sources, robots=True)
    assert main(["--config", str(config), "--log-format", "json", "fetch"]) == 0
    polls = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{") and '"status"' in line and '"requests"' in line
    ]
    assert local_server.paths() == ["/robots.txt", "/feed"]
    assert [(p["source"], p["requests"]) for p in polls] == [("news", 2)]
