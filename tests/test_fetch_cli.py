"""`ofsted-watch fetch` against loopback hosts that misbehave: what the user is told, what is
stored and what is kept between runs (unreachable hosts, Retry-After, credentials in URLs)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from scraper.cli.commands import main
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
