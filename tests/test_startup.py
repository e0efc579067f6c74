"""Start light: each command, run in a fresh interpreter, imports only the code it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scraper.store import Store
from tests.httpserver import LocalServer, Response, local_server

__all__ = ["local_server"]  # the fixture, imported for pytest

# Runs the CLI in-process, then writes the names of every module it imported to a file.
PROBE = """
import json, sys
from scraper.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""
# Code no command needs before it has something to do with it.
NEVER_AT_START = {"pypdf", "apscheduler", "prometheus_client", "alembic", "bs4", "feedparser"}
# What a command that reads no config and touches no database or network must not load.
# (pydantic is not on the list: scraper.models defines the alert payload with it.)
NOT_FOR_OFFLINE = NEVER_AT_START | {"sqlalchemy", "requests", "lxml", "smtplib"}
# A fetch of feeds: no HTML or Ofsted readers, no mail, no daemon, no web app.
NOT_FOR_FEEDS = NEVER_AT_START | {
    "smtplib",
    "scraper.ingest.sources.html",
    "scraper.ingest.sources.ofsted",
    "scraper.ingest.sources.ofsted_pdf",
    "scraper.run.daemon",
    "scraper.run.schedule",
    "scraper.web",
}


def imported(tmp_path: Path, *argv: str) -> set[str]:
    """The modules (and their top-level packages) a fresh interpreter held after the command."""
    out = tmp_path / "modules.json"
    env = {**os.environ, "OFSTED_WATCH_CONFIG": str(tmp_path / "absent.toml")}
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *argv],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )
    names = json.loads(out.read_text())
    return set(names) | {n.split(".")[0] for n in names}


def test_help_and_councils_import_no_config_database_or_http_code(tmp_path: Path) -> None:
    """`--help` and `councils` load neither SQLAlchemy, requests, lxml nor any source reader."""
    for argv in (["--help"], ["councils", "Reading"], ["fetch", "--help"]):
        assert imported(tmp_path, *argv) & NOT_FOR_OFFLINE == set(), argv


def test_fetch_of_feeds_imports_no_pdf_html_mail_scheduler_or_metrics_code(
    tmp_path: Path, local_server: LocalServer
) -> None:
    """A one-off fetch of feeds (schema already current) loads no PDF, HTML, mail, scheduler,
    metrics, migration or feedparser code: the fast path reads the well-formed feed."""
    local_server.route(
        "/feed",
        Response.file("news/communitycare_feed.xml", content_type="application/rss+xml"),
    )
    db = f"sqlite:///{tmp_path}/w.db"
    Store.open(db).close()  # migrated here, so the command itself has no reason to load alembic
    config = tmp_path / "c.toml"
    config.write_text(
        f'[storage]\nurl = "{db}"\n[http]\nallow_private = true\nretries = 0\n'
        '[watchlist]\ncouncils = ["Reading"]\n'
        f'[[sources]]\nname = "cc"\ntype = "feed"\nurl = "{local_server.url("/feed")}"\n'
    )
    modules = imported(tmp_path, "--config", str(config), "-q", "fetch")
    assert "scraper.ingest.sources.fastfeed" in modules  # it did fetch and parse
    assert modules & NOT_FOR_FEEDS == set()
