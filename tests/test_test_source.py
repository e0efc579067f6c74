"""`ofsted-watch test-source NAME`: what a source would extract, with verdicts, storing nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scraper.cli.commands import main
from tests.httpserver import LocalServer, Response


def write_config(tmp_path: Path, server: LocalServer) -> Path:
    path = tmp_path / "ofsted-watch.toml"
    path.write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path}/ow.db"

[http]
user_agent = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
allow_private = true
min_interval = 0.01
retries = 0

[daemon]
listen = ""

[watchlist]
councils = ["West Berkshire", "Reading"]

[[sources]]
name = "community-care"
type = "feed"
url = "{server.url("/feed/")}"

[[sources]]
name = "westberks-bulletins"
type = "html"
url = "{server.url("/accounts/UKWESTBC/bulletins")}"
item = "article.bulletin"
title = "h2"
link = "h2 a"
date = ".date"
summary = "p.summary"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def server() -> Any:
    with LocalServer() as srv:
        srv.route(
            "/feed/",
            Response.file("news/communitycare_feed.xml", content_type="application/rss+xml"),
        )
        srv.route(
            "/accounts/UKWESTBC/bulletins",
            Response.file("news/govdelivery_bulletin.html", content_type="text/html"),
        )
        yield srv


def preview(config: Path, name: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["--config", str(config), "test-source", name, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_test_source_feed_prints_items_and_verdicts(
    tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed source lists every item with its councils, type and verdict, and writes no DB."""
    rows = preview(write_config(tmp_path, server), "community-care", capsys)
    by_title = {r["title"]: r for r in rows}
    staff = next(r for t, r in by_title.items() if "staff disruption" in t)
    assert staff["detect"] and staff["councils"] == ["West Berkshire"]
    assert staff["report_type"] == "inspection" and staff["judgement"] == "inadequate"
    assert any("West Berkshire" in e for e in staff["evidence"])
    worth = next(r for t, r in by_title.items() if "worth reading" in t.lower())
    assert not worth["detect"]
    assert not (tmp_path / "ow.db").exists()


def test_test_source_html_prints_items(
    tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An html source lists what its selectors extract, links resolved, and writes no DB."""
    rows = preview(write_config(tmp_path, server), "westberks-bulletins", capsys)
    first = rows[0]
    assert first["title"] == "Positive improvements made to Children’s Services"
    assert first["url"] == server.url("/accounts/UKWESTBC/bulletins/17f1c3a")  # resolved
    assert first["published"] == "2017-01-12"
    assert not (tmp_path / "ow.db").exists()


def test_test_source_text_output_and_unknown_name(
    tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json each item is a verdict line plus title and URL; an unknown name fails."""
    config = write_config(tmp_path, server)
    assert main(["--config", str(config), "test-source", "community-care"]) == 0
    captured = capsys.readouterr()
    assert "DETECT" in captured.out and "[West Berkshire]" in captured.out
    assert "item(s) from community-care" in captured.err
    assert main(["--config", str(config), "test-source", "nope"]) != 0
    assert "no source named 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "ow.db").exists()
