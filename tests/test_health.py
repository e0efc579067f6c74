"""/healthz and /metrics: served by a running daemon on a port chosen by the OS."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scraper.run.health import health_report
from scraper.store import Store
from scraper.store.db import make_engine
from tests.daemonkit import (
    NewsFeed,
    feed,
    running,
    set_last_poll,
    wait_for,
    webhook,
    write_config,
)
from tests.httpserver import LocalServer, Response


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def healthz(base: str) -> tuple[int, dict[str, Any]]:
    status, body = get(base + "/healthz")
    return status, json.loads(body)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}{{{re.escape(want)}}} (\S+)$", text, re.M)
    assert m, f"{name}{{{want}}} not in metrics"
    return float(m.group(1))


def test_healthz_and_metrics_after_polls(tmp_path: Path, sqlite_url: str) -> None:
    """After polls against a loopback feed /healthz is 200 with per-source detail and queue
    depth, and /metrics counts polls, failures, items, detections, alerts and latency."""
    with LocalServer() as server, LocalServer() as receiver:
        news = NewsFeed()
        server.route("/news", news)
        server.route("/down", Response(status=503))
        receiver.route("/hook", Response(status=200))
        body = (
            feed("news", server.url("/news"), "1s")
            + feed("down", server.url("/down"), "1h")
            + webhook(receiver.url("/hook"))
        )
        config = write_config(tmp_path / "c.toml", sqlite_url, body)
        with running(config) as daemon:
            assert daemon.health is not None
            base = "http://" + daemon.health.address
            assert not base.endswith(":0")  # listen = 127.0.0.1:0 -> a real port, logged
            wait_for(lambda: daemon.store.load_state("news").last_success_at, what="baseline")
            news.count = 3
            wait_for(lambda: len(receiver.log) >= 3, what="three webhooks")
            wait_for(lambda: daemon.store.queue_depth()["delivered"] == 3, what="delivered")
            status, detail = healthz(base)
            _, text = get(base + "/metrics")
            status_404, _ = get(base + "/nope")
    assert status == 200 and detail["status"] == "ok" and detail["role"] == "active"
    assert detail["scheduler"] == "running" and detail["store"] == "ok"
    assert detail["queue"]["delivered"] == 3 and detail["queue"]["pending"] == 0
    assert detail["disabled_channels"] == {}
    down = detail["sources"]["down"]
    assert down["consecutive_failures"] == 1 and down["last_failure"] and not down["last_success"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", detail["sources"]["news"]["last_success"])
    m = text.decode()
    assert metric(m, "ofsted_watch_detections_total", kind="news_article", source="news") == 3
    assert metric(m, "ofsted_watch_polls_total", source="down", status="failed") == 1
    assert metric(m, "ofsted_watch_poll_failures_total", source="down") == 1
    assert metric(m, "ofsted_watch_polls_total", source="news", status="baseline") == 1
    assert metric(m, "ofsted_watch_items_total", source="news") >= 3
    assert metric(m, "ofsted_watch_alerts", state="delivered") == 3
    assert metric(m, "ofsted_watch_fetch_seconds_count", source="news") >= 2
    assert metric(m, "ofsted_watch_fetch_seconds_bucket", le="+Inf", source="news") >= 2
    assert metric(m, "ofsted_watch_last_success_timestamp_seconds", source="news") > 1.7e9
    assert status_404 == 404


def test_healthz_is_503_once_the_scheduler_stops(tmp_path: Path, sqlite_url: str) -> None:
    """A daemon whose scheduler is not running answers 503 with scheduler = stopped."""
    with LocalServer() as server:
        server.route("/news", NewsFeed())
        config = write_config(tmp_path / "c.toml", sqlite_url, feed("news", server.url("/news")))
        with running(config) as daemon:
            assert daemon.health is not None
            base = "http://" + daemon.health.address
            assert healthz(base)[0] == 200
            daemon.scheduler.shutdown(wait=False)
            status, detail = healthz(base)
    assert status == 503 and detail["scheduler"] == "stopped" and detail["status"] == "unhealthy"


def test_health_report_is_503_when_the_store_is_unreachable() -> None:
    """A store that cannot be reached makes the report 503 with the error's type."""
    store = Store(make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"))
    status, detail = health_report(
        store, running=True, role="active", intervals={"a": 60}, now=datetime.now(UTC)
    )
    assert status == 503 and detail["store"].startswith("error: ")


def test_health_report_flags_a_source_stale_after_three_intervals(
    tmp_path: Path, sqlite_url: str
) -> None:
    """An active daemon's source last polled more than 3 intervals ago is unhealthy; less is
    fine, and a standby never reports stale sources (it polls nothing)."""
    with LocalServer() as server:
        server.route("/news", NewsFeed())
        config = write_config(tmp_path / "c.toml", sqlite_url, feed("news", server.url("/news")))
        from scraper.cli.commands import main

        assert main(["--config", str(config), "fetch"]) == 0
    now = datetime.now(UTC)
    store = Store.open(sqlite_url)

    def report(age: float, role: str = "active") -> tuple[int, dict[str, Any]]:
        set_last_poll(sqlite_url, "news", now - timedelta(seconds=age))
        return health_report(store, running=True, role=role, intervals={"news": 10}, now=now)

    assert report(29)[0] == 200
    status, detail = report(31)
    assert status == 503 and detail["sources"]["news"]["stalled"] is True
    assert report(31, role="standby")[0] == 200
