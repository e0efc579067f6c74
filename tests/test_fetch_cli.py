"""`ofsted-watch fetch` against loopback hosts that misbehave: what the user is told, what is
stored and what is kept between runs (unreachable hosts, Retry-After, credentials in URLs)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from scraper.cli.commands import main


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
