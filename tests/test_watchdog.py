"""Source health: a failing source is told once, its recovery once, a quiet one warned once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scraper.cli.commands import main
from scraper.clock import utcnow
from scraper.run.health import health_report
from scraper.run.watchdog import check_source, failing_sources
from scraper.settings.load import load_settings
from scraper.store import Store
from tests.daemonkit import NewsFeed, feed, webhook, write_config
from tests.httpserver import LocalServer, Request, Response
from tests.receiver import Receiver, body_json


class Switch:
    """A feed route that fails with 503 while `down` is set."""

    def __init__(self) -> None:
        self.down = True
        self.feed = NewsFeed(count=2)

    def __call__(self, request: Request) -> Response:
        return Response(status=503) if self.down else self.feed(request)


def _config(tmp_path: Path, feed_url: str, hook_url: str, source_extra: str = "") -> Path:
    body = feed("news", feed_url, "1h", source_extra) + webhook(hook_url, "ops")
    return write_config(
        tmp_path / "c.toml",
        f"sqlite:///{tmp_path}/ow.db",
        body,
        listen="",
        daemon_extra='notify = ["ops"]',
    )


def _notices(receiver: Receiver) -> list[dict[str, Any]]:
    return [body_json(p)["data"] for p in receiver.posts("/ops")]


def test_failing_source_is_told_once_then_its_recovery_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three failed fetches send one "failing" notice naming source, error and since when;
    more failures send nothing; the first success sends one "recovered" notice."""
    switch = Switch()
    with LocalServer() as server, Receiver() as receiver:
        server.route("/feed", switch)
        config = _config(tmp_path, server.url("/feed"), receiver.hook("/ops"))
        codes = [main(["--config", str(config), "fetch"]) for _ in range(2)]
        assert _notices(receiver) == []
        codes += [main(["--config", str(config), "fetch"]) for _ in range(3)]
        told = _notices(receiver)
        err = capsys.readouterr().err
        switch.down = False
        assert main(["--config", str(config), "fetch"]) == 0
        assert main(["--config", str(config), "fetch"]) == 0
        after = _notices(receiver)
    assert codes == [1] * 5
    assert len(told) == 1, told
    assert told[0]["kind"] == "source_failing" and "source news is failing" in told[0]["summary"]
    assert "503" in told[0]["summary"] and " since " in told[0]["summary"]
    assert "3 polls in a row" in told[0]["summary"]
    assert "warning: source news is failing since" in err  # fetch ends with the warning
    assert [n["kind"] for n in after] == ["source_failing", "source_recovered"]


def test_failing_after_a_time_without_success(tmp_path: Path) -> None:
    """With `failing_after`, one failure long after the last success is already failing."""
    switch = Switch()
    switch.down = False
    with LocalServer() as server, Receiver() as receiver:
        server.route("/feed", switch)
        config = _config(
            tmp_path, server.url("/feed"), receiver.hook("/ops"), 'failing_after = "2h"'
        )
        assert main(["--config", str(config), "fetch"]) == 0
        switch.down = True
        assert main(["--config", str(config), "fetch"]) == 1
        settings = load_settings(str(config))
        store = Store.open(settings.storage_url)
        cfg = settings.sources[0]
        assert failing_sources(settings, store, utcnow()) == []
        later = utcnow() + timedelta(hours=3)
        assert [f.name for f in failing_sources(settings, store, later)] == ["news"]
        check_source(settings, store, cfg, later)
        check_source(settings, store, cfg, later + timedelta(hours=1))
        queued = [a for a in store.alerts() if a.notice]
    assert [a.notice.kind for a in queued if a.notice] == ["source_failing"]


def test_stale_source_is_warned_once(tmp_path: Path) -> None:
    """`stale_after` warns once when a source has yielded nothing new for that long; a new item
    re-arms the warning."""
    switch = Switch()
    switch.down = False
    with LocalServer() as server, Receiver() as receiver:
        server.route("/feed", switch)
        config = _config(
            tmp_path, server.url("/feed"), receiver.hook("/ops"), 'stale_after = "21d"'
        )
        assert main(["--config", str(config), "fetch"]) == 0
        settings = load_settings(str(config))
        store = Store.open(settings.storage_url)
        cfg = settings.sources[0]
        now = utcnow()
        check_source(settings, store, cfg, now + timedelta(days=20))
        assert [a for a in store.alerts() if a.notice] == []
        for days in (22, 23, 30):
            check_source(settings, store, cfg, now + timedelta(days=days))
        stale = [a.notice for a in store.alerts() if a.notice]
    assert len(stale) == 1 and stale[0] is not None
    assert stale[0].kind == "source_stale" and "nothing new since" in (stale[0].summary or "")


def test_healthz_is_503_listing_failing_sources(tmp_path: Path) -> None:
    """/healthz's report is 503 and names the failing sources once one is past its threshold."""
    store = Store.open(f"sqlite:///{tmp_path}/h.db")
    now = utcnow()
    for _ in range(3):
        store.record_failure("news", "HTTP 503 from the feed", now)
    status, detail = health_report(
        store,
        running=True,
        role="active",
        intervals={"news": 3600.0},
        now=now,
        failing=["news"],
    )
    assert status == 503 and detail["failing"] == ["news"]
    assert detail["sources"]["news"]["failing"] is True
    ok, _ = health_report(store, running=True, role="active", intervals={"news": 3600.0}, now=now)
    assert ok == 200


def test_notice_without_notify_channels_is_logged_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no `[daemon] notify`, a failing source is logged (and listed), nothing is queued."""
    with LocalServer() as server:
        server.route("/feed", Response(status=503))
        body = feed("news", server.url("/feed"), "1h", "failures_before_notice = 1")
        config = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path}/ow.db", body, listen="")
        assert main(["--config", str(config), "fetch"]) == 1
        settings = load_settings(str(config))
        store = Store.open(settings.storage_url)
    assert "WARNING scraper.run.watchdog: source news is failing" in capsys.readouterr().err
    assert store.alerts() == []
    assert json.dumps([f.name for f in failing_sources(settings, store, utcnow())]) == '["news"]'
