"""Several daemons on one PostgreSQL database: one active at a time, a
standby takes over when the active one is SIGKILLed, and a `fetch` run beside them."""

from __future__ import annotations

import itertools
import signal
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from scraper.cli.commands import main
from scraper.store import Store
from tests.daemonkit import (
    DaemonProcess,
    NewsFeed,
    feed,
    gaps,
    requests_to,
    wait_for,
    webhook,
    write_config,
)
from tests.httpserver import LocalServer, Response

EVERY = 2.0
PATHS = ("/a", "/b", "/c")


def active_pid(daemons: list[DaemonProcess]) -> int | None:
    """The pid of the daemon whose latest role line says active (None if none yet)."""
    for d in daemons:
        roles = [r for r in d.records() if r.get("event") == "role"]
        if roles and roles[-1]["role"] == "active" and d.proc.poll() is None:
            return d.pid
    return None


@pytest.mark.slow
@pytest.mark.postgres
def test_three_daemons_share_postgres_with_one_killed(tmp_path: Path, pg_url: str) -> None:
    """Three daemons over ~20 cycles, the active one SIGKILLed midway and a `fetch` beside
    them: every alert delivered exactly once, no source polled twice within 0.8 interval,
    and a standby active again within a minute of the kill."""
    feeds = {p: NewsFeed(first=1000 * i) for i, p in enumerate(PATHS)}
    with LocalServer() as server, LocalServer() as receiver:
        for path, route in feeds.items():
            server.route(path, route)
        server.route("/extra", NewsFeed(first=9000))
        receiver.route("/hook", Response(status=200))
        hook = webhook(receiver.url("/hook"))
        sources = "".join(feed(p[1:], server.url(p), "2s") for p in PATHS)
        config = write_config(tmp_path / "d.toml", pg_url, sources + hook)
        config.write_text(config.read_text().replace('alert_lease = "20s"', 'alert_lease = "5s"'))
        beside = write_config(
            tmp_path / "f.toml", pg_url, feed("extra", server.url("/extra")) + hook
        )
        daemons = [DaemonProcess(config, tmp_path / f"d{i}.log") for i in range(3)]
        try:
            first = wait_for(lambda: active_pid(daemons), 60, "an active daemon")
            wait_for(lambda: all(requests_to(server, p) for p in PATHS), 30, "baselines")
            published = 0
            killed_at = 0.0
            for step in range(18):  # about one story a second, round robin over the feeds
                feeds[PATHS[step % 3]].count += 1
                published += 1
                if step == 8:
                    killed_at = time.time()
                    next(d for d in daemons if d.pid == first).proc.kill()
                if step in (5, 12):
                    assert main(["--config", str(beside), "fetch"]) == 0
                time.sleep(1.0)
            second = wait_for(lambda: active_pid(daemons), 60, "a new active daemon")
            store = Store.open(pg_url)
            wait_for(
                lambda: store.queue_depth()["delivered"] == published, 60, "every alert delivered"
            )
            # Room for a duplicate to show up, if there were one: wait for two more polls of
            # every feed (events the daemons make), not for a stretch of wall-clock time.
            seen = {p: len(requests_to(server, p)) for p in PATHS}
            wait_for(
                lambda: all(len(requests_to(server, p)) >= seen[p] + 2 for p in PATHS),
                60,
                "two more polls of every feed",
            )
            for d in daemons:
                if d.proc.poll() is None:
                    d.signal(signal.SIGTERM)
            codes = [d.wait(35) for d in daemons if d.pid != first]
        finally:
            for d in daemons:
                d.close()
    assert codes == [0, 0]
    ids = [e.headers.get("webhook-id") for e in receiver.log if e.path == "/hook"]
    assert len(ids) == published and max(Counter(ids).values()) == 1, Counter(ids)
    assert {r.status for r in store.alerts()} == {"delivered"}
    for path in PATHS:
        g = gaps(requests_to(server, path))
        assert len(g) >= 8 and min(g) >= 0.8 * EVERY, (path, g)
    assert second != first
    took_over = [
        datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        for d in daemons
        if d.pid == second
        for r in d.records()
        if r.get("event") == "role" and r["role"] == "active"
    ]
    assert took_over and 0 < took_over[-1] - killed_at < 60
    actives = [
        d.pid
        for d in daemons
        for r in d.records()
        if r.get("event") == "role" and r["role"] == "active"
    ]
    assert sorted(actives) == sorted([first, second])  # nobody else ever became active
    assert list(itertools.chain(requests_to(server, "/extra")))  # the fetch really ran
