"""The daemon: scheduling, catch-up, error isolation, back-off, hanging sources, signals, logs.

In-process tests run `Daemon.run()` in a thread (no signals there); the signal tests run
`python -m scraper run` in a subprocess. The helpers live in tests/daemonkit.py.
"""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.cli.commands import main
from scraper.store import Store
from tests.daemonkit import (
    ROOT,
    DaemonProcess,
    NewsFeed,
    feed,
    gaps,
    news_rss,
    requests_to,
    running,
    set_last_poll,
    wait_for,
    webhook,
    write_config,
)
from tests.httpserver import LocalServer, Response, fail_then
from tests.trickleserver import TrickleServer


# -- scheduling ------------------------------------------------------------------------------
def test_daemon_schedules_sources_dispatcher_and_digests(tmp_path: Path, sqlite_url: str) -> None:
    """One job per source (interval with ~10 % jitter, or cron), a dispatcher and a digest job,
    each with max_instances=1, coalesce and a misfire grace of at least half the interval."""
    with LocalServer() as server:
        server.route("/a", NewsFeed())
        body = (
            feed("a", server.url("/a"), every="10m")
            + feed("b", server.url("/a"), every="2h")
            + '\n[[sources]]\nname = "c"\ntype = "feed"\nurl = "http://127.0.0.1:9/"\n'
            'cron = "0 7 * * 1-5"\n'
            + '\n[[alerts]]\nname = "mail"\ntype = "email"\nsmtp_host = "127.0.0.1"\n'
            'from = "a@example.org"\nto = ["b@example.org"]\ndigest = "daily"\n'
        )
        config = write_config(tmp_path / "c.toml", sqlite_url, body, listen="")
        with running(config) as daemon:
            jobs = {j.id: j for j in daemon.scheduler.get_jobs()}
    assert set(jobs) == {"poll:a", "poll:b", "poll:c", "dispatch", "digest:mail"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
    a, b = jobs["poll:a"], jobs["poll:b"]
    assert a.trigger.interval.total_seconds() == 600 and a.trigger.jitter == 60
    assert b.trigger.jitter == 720 and b.misfire_grace_time >= 3600
    assert a.misfire_grace_time >= 300
    assert "day_of_week='1-5'" in str(jobs["poll:c"].trigger)
    assert str(jobs["poll:c"].trigger.timezone) == "Europe/London"
    assert jobs["poll:c"].misfire_grace_time >= 3 * 86400 / 2  # Friday -> Monday gap


def test_daemon_polls_each_source_once_per_interval(tmp_path: Path, sqlite_url: str) -> None:
    """With every = 1s each source is polled about once a second, never twice in an interval."""
    with LocalServer() as server:
        server.route("/a", NewsFeed())
        server.route("/b", NewsFeed())
        body = feed("a", server.url("/a")) + feed("b", server.url("/b"))
        config = write_config(tmp_path / "c.toml", sqlite_url, body, listen="")
        with running(config):
            wait_for(lambda: len(requests_to(server, "/b")) >= 5, what="five polls of b")
        for path in ("/a", "/b"):
            starts = requests_to(server, path)
            assert len(starts) >= 4
            assert min(gaps(starts)) >= 0.8, gaps(starts)


def test_daemon_catches_up_once_after_downtime(tmp_path: Path, sqlite_url: str) -> None:
    """After downtime covering three scheduled runs, restart polls that source exactly once;
    a source polled just before the restart waits for its next slot."""
    with LocalServer() as server:
        server.route("/late", NewsFeed())
        server.route("/fresh", NewsFeed())
        server.route("/tick", NewsFeed())  # a 1 s heartbeat: the scheduler's own clock, observed
        body = feed("late", server.url("/late"), "10s") + feed("fresh", server.url("/fresh"), "10s")
        body += feed("tick", server.url("/tick"), "1s")
        config = write_config(tmp_path / "c.toml", sqlite_url, body, listen="")
        assert main(["--config", str(config), "fetch"]) == 0
        now = datetime.now(UTC)
        set_last_poll(sqlite_url, "late", now - timedelta(seconds=35))  # missed 3 runs
        set_last_poll(sqlite_url, "fresh", now - timedelta(seconds=1))
        before = len(server.log)
        with running(config):
            wait_for(lambda: len(server.log) > before, what="the catch-up poll")
            # Four heartbeats later (well inside the 10 s interval) any extra poll would show:
            # the wait is counted in the daemon's own scheduled polls, not in wall-clock sleep.
            ticks = len(requests_to(server, "/tick"))
            wait_for(lambda: len(requests_to(server, "/tick")) >= ticks + 4, what="heartbeats")
        after = [e.path for e in server.log[before:] if e.path != "/tick"]
    assert after.count("/late") == 1, after
    assert after.count("/fresh") == 0, after


# -- error isolation, back-off, hanging sources ---------------------------------------------
def test_daemon_survives_a_raising_job_and_failing_sources(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A job raising, a 500 and a body that is not a feed are logged; other sources run on."""
    caplog.set_level(logging.INFO)
    with LocalServer() as server:
        server.route("/good", NewsFeed())
        server.route("/500", Response(status=500))
        server.route("/junk", Response(body=b"\x00\xffnot xml", headers={"Content-Type": "x/y"}))
        body = (
            feed("good", server.url("/good"))
            + feed("err", server.url("/500"))
            + feed("junk", server.url("/junk"))
        )
        config = write_config(tmp_path / "c.toml", sqlite_url, body, listen="")
        boom = {"n": 0}

        def explode() -> None:
            boom["n"] += 1
            raise ZeroDivisionError("job bug")

        with running(config) as daemon:
            daemon.scheduler.add_job(daemon._tracked, "interval", args=[explode], seconds=0.3)
            wait_for(lambda: boom["n"] >= 3 and len(requests_to(server, "/good")) >= 4)
            assert daemon.scheduler.running and not daemon.stopping.is_set()
    assert "job failed" in caplog.text and "ZeroDivisionError" in caplog.text
    states = {s.name: s for s in Store.open(sqlite_url).states()}
    assert states["good"].consecutive_failures == 0 and states["good"].polls >= 4
    assert states["err"].consecutive_failures >= 1 and states["junk"].consecutive_failures >= 1


def test_daemon_backs_off_a_failing_source_and_recovers(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Three failures stretch the interval (1 s, 2 s, 4 s, logged); the first success brings
    the normal interval back without any operator action."""
    caplog.set_level(logging.INFO)
    with LocalServer() as server:
        ok = Response(body=news_rss([]), headers={"Content-Type": "application/rss+xml"})
        server.route("/flaky", fail_then(3, ok))
        config = write_config(
            tmp_path / "c.toml", sqlite_url, feed("flaky", server.url("/flaky")), listen=""
        )
        with running(config):
            wait_for(lambda: len(requests_to(server, "/flaky")) >= 7, 40, "seven polls")
        starts = requests_to(server, "/flaky")
    g = gaps(starts)
    assert 0.8 <= g[0] < 1.9, g  # failure 1: normal interval
    assert g[1] >= 1.8, g  # failure 2: twice the interval
    assert g[2] >= 3.6, g  # failure 3: four times
    assert max(g[3:6]) < 3.0, g  # recovered: back to about 1 s
    assert re.search(r"source=flaky failing consecutive_failures=3 backing off", caplog.text)
    assert "source=flaky recovered" in caplog.text


def test_daemon_aborts_a_hanging_source_within_its_deadline(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A source dripping one byte every 0.5 s fails at deadline (2 s) + 1 s; others complete."""
    caplog.set_level(logging.INFO)
    with LocalServer() as server:
        server.route("/drip", Response.drip(news_rss(range(3)), 0.5))
        server.route("/good", NewsFeed())
        body = feed("drip", server.url("/drip"), "30s") + feed("good", server.url("/good"), "30s")
        config = write_config(
            tmp_path / "c.toml", sqlite_url, body, listen="", http_extra="deadline = 2"
        ).read_text()
        path = tmp_path / "d.toml"
        path.write_text(config.replace("deadline = 10\n", ""))
        with running(path) as daemon:
            wait_for(lambda: daemon.store.load_state("drip").consecutive_failures == 1, 40)
            # One request per host: "good" waits behind the drip, so it completes just after.
            assert wait_for(lambda: daemon.store.load_state("good").last_success_at, 10)
    failed = [r for r in caplog.records if getattr(r, "source", "") == "drip"]
    assert failed and failed[0].status == "failed"  # type: ignore[attr-defined]
    # req: deadline + 1 s (pinned tightly in test_fetch); here +5 s slack for a loaded CI box
    assert failed[0].duration <= 2 + 1 + 5  # type: ignore[attr-defined]
    assert "deadline" in failed[0].error  # type: ignore[attr-defined]


def test_daemon_cuts_a_trickling_head_and_polls_the_same_host_next(
    tmp_path: Path, sqlite_url: str
) -> None:
    """A status line trickled a byte a second is cut at the deadline (2 s), and the other
    source on that host, which waits for the host's one request at a time, is polled next."""
    with TrickleServer(interval=1.0) as server:
        server.trickle.add("/slow")
        server.routes["/good"] = news_rss(range(2))
        body = feed("slow", server.url("/slow"), "1h") + feed("good", server.url("/good"), "1h")
        config = write_config(tmp_path / "c.toml", sqlite_url, body, listen="").read_text()
        path = tmp_path / "d.toml"
        path.write_text(config.replace("deadline = 10\n", "deadline = 2\n"))
        started = time.monotonic()
        with running(path) as daemon:
            wait_for(lambda: daemon.store.load_state("slow").consecutive_failures == 1, 30)
            wait_for(lambda: daemon.store.load_state("good").last_success_at is not None, 10)
            slow = daemon.store.load_state("slow")
    assert "deadline of 2s exceeded" in (slow.last_error or "")
    starts = dict(server.starts)
    # req: deadline + 1 s for the cut; +4 s slack for a loaded CI box and the daemon's start
    assert starts["/good"] - started < 2 + 1 + 4
    assert abs(starts["/good"] - starts["/slow"]) < 2 + 1 + 2  # right after the cut, or before


# -- signals, reload, logs (subprocess) ------------------------------------------------------
def test_run_sigterm_exits_zero_and_loses_nothing(tmp_path: Path, sqlite_url: str) -> None:
    """SIGTERM while an alert is being sent: exit 0 within 30 s, no row left 'sending', and a
    later `fetch` delivers the alert under the same webhook-id; poll lines are JSON."""
    with LocalServer() as server, LocalServer() as receiver:
        news = NewsFeed()
        server.route("/news", news)
        answers = iter([Response(status=200, delay=20)])  # the first hangs past the 2 s timeout
        receiver.route("/hook", lambda _r: next(answers, Response(status=200)))
        body = feed("news", server.url("/news")) + webhook(
            receiver.url("/hook"), extra="timeout = 2"
        )
        config = write_config(tmp_path / "c.toml", sqlite_url, body, listen="")
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            daemon.wait_log(r'"status": "baseline"')
            news.count = 1
            wait_for(lambda: receiver.log, 30, "the webhook attempt")
            started = time.monotonic()
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(30) == 0
            assert time.monotonic() - started < 30
        finally:
            daemon.close()
        store = Store.open(sqlite_url)
        assert [r.status for r in store.alerts()] != [] and not store.alerts(status="sending")
        polls = [r for r in daemon.records() if r.get("source") == "news" and "status" in r]
        assert polls and all({"items", "new", "duration"} <= set(r) for r in polls)
        assert any(r["new"] == 1 for r in polls)
        assert any("daemon stopped" in r["message"] for r in daemon.records())
        assert main(["--config", str(config), "alerts", "retry"]) == 0
        assert main(["--config", str(config), "fetch"]) == 0
        ids = [e.headers["webhook-id"] for e in receiver.log]
        assert len(ids) == 2 and ids[0] == ids[1]  # the abandoned attempt, then the delivery
        assert [r.status for r in store.alerts()] == ["delivered"]


def test_run_sigint_exits_zero_with_a_pending_alert_kept(tmp_path: Path, sqlite_url: str) -> None:
    """SIGINT stops the daemon with exit 0; an undelivered alert stays queued for later."""
    with LocalServer() as server, LocalServer() as receiver:
        news = NewsFeed()
        server.route("/news", news)
        receiver.route("/hook", Response(status=503))
        body = feed("news", server.url("/news")) + webhook(receiver.url("/hook"))
        config = write_config(tmp_path / "c.toml", sqlite_url, body, listen="")
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            daemon.wait_log(r'"status": "baseline"')
            news.count = 2
            wait_for(lambda: len(receiver.log) >= 2, 30, "two failed webhook attempts")
            daemon.signal(signal.SIGINT)
            assert daemon.wait(30) == 0
        finally:
            daemon.close()
        rows = Store.open(sqlite_url).alerts()
        assert len(rows) == 2 and {r.status for r in rows} <= {"pending", "failed"}


def test_run_sighup_reloads_a_good_file_and_refuses_a_bad_one(
    tmp_path: Path, sqlite_url: str
) -> None:
    """SIGHUP with a new source list swaps the polled sources; an invalid file is refused,
    logged, and the running configuration carries on."""
    with LocalServer() as server:
        server.route("/a", NewsFeed())
        server.route("/b", NewsFeed())
        config = write_config(tmp_path / "c.toml", sqlite_url, feed("a", server.url("/a")))
        good = config.read_text()
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            daemon.wait_log(r"poll source=a ")
            write_config(config, sqlite_url, feed("b", server.url("/b")))
            daemon.signal(signal.SIGHUP)
            daemon.wait_log(r"sources_added=\['b'\] sources_removed=\['a'\]")
            wait_for(lambda: len(requests_to(server, "/b")) >= 2, 20, "polls of b")
            a_count = len(requests_to(server, "/a"))
            config.write_text(good.replace('type = "feed"', 'type = "nope"'))
            daemon.signal(signal.SIGHUP)
            daemon.wait_log(r"reload refused, keeping the old configuration: .*unknown type")
            b_count = len(requests_to(server, "/b"))
            wait_for(lambda: len(requests_to(server, "/b")) >= b_count + 2, 20, "b polled on")
            assert len(requests_to(server, "/a")) <= a_count + 1  # at most one already running
            daemon.signal(signal.SIGTERM)
            assert daemon.wait(30) == 0
        finally:
            daemon.close()


def test_run_second_daemon_on_one_sqlite_file_refuses(tmp_path: Path, sqlite_url: str) -> None:
    """A second daemon on the same SQLite file exits non-zero with a message naming the file."""
    with LocalServer() as server:
        server.route("/a", NewsFeed())
        config = write_config(tmp_path / "c.toml", sqlite_url, feed("a", server.url("/a"), "1h"))
        first = DaemonProcess(config, tmp_path / "one.log")
        try:
            first.wait_log(r"role=active")
            second = subprocess.run(
                [sys.executable, "-m", "scraper", "--config", str(config), "run"],
                check=False,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode != 0
            assert "already" in second.stderr and f"{tmp_path}/ofsted-watch.db" in second.stderr
            first.signal(signal.SIGTERM)
            assert first.wait(30) == 0
        finally:
            first.close()
