"""Helpers for tests that run the daemon against a loopback world: config writers, a news feed
that can publish more stories, a daemon in a thread (`running`) or in a subprocess
(`DaemonProcess`), and `wait_for`. Shared by test_daemon.py, test_health.py,
test_multi_instance.py, test_docker.py and bench/soak.py.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from scraper.run.daemon import Daemon
from scraper.store import Store
from scraper.store.schema import source_state
from tests.httpserver import LocalServer, Request, Response

ROOT = Path(__file__).resolve().parent.parent


# -- a loopback world ------------------------------------------------------------------------
def news_rss(stories: range | list[int]) -> bytes:
    """An RSS feed whose every item is a distinct detection about West Berkshire."""
    items = "".join(
        f"<item><title>Ofsted monitoring visit finds progress in West Berkshire children's "
        f"services, report {k}</title>"
        f"<link>https://news{k}.example.org/2026/11/story-{k}/</link>"
        f"<guid>https://news{k}.example.org/?p={k}</guid>"
        "<pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate>"
        "<description>Ofsted inspectors found West Berkshire Council's children's services had "
        f"improved at monitoring visit number {k}, the letter published today says."
        "</description></item>"
        for k in stories
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<link>https://news.example.org/</link><description>d</description>"
        f"{items}</channel></rss>"
    ).encode()


class NewsFeed:
    """A feed route serving `count` stories numbered from `first`; raise `count` to publish
    more. Feeds with different `first` never share a story (identical titles would merge)."""

    def __init__(self, count: int = 0, first: int = 0) -> None:
        self.count = count
        self.first = first

    def __call__(self, _request: Request) -> Response:
        stories = range(self.first, self.first + self.count)
        return Response(body=news_rss(stories), headers={"Content-Type": "application/rss+xml"})


def requests_to(server: LocalServer, path: str) -> list[float]:
    """Monotonic start times of the requests for `path`."""
    return [e.started for e in server.log if e.path == path]


def feed(name: str, url: str, every: str = "1s", extra: str = "") -> str:
    return (
        f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{url}"\n'
        f'every = "{every}"\n{extra}\n'
    )


def webhook(url: str, name: str = "hook", extra: str = "") -> str:
    return (
        f'\n[[alerts]]\nname = "{name}"\ntype = "webhook"\nurl = "{url}"\n'
        f"allow_private = true\n{extra}\n"
    )


def write_config(
    path: Path,
    db_url: str,
    body: str,
    *,
    listen: str = "127.0.0.1:0",
    daemon_extra: str = "",
    http_extra: str = "",
) -> Path:
    """A daemon configuration for loopback servers."""
    path.write_text(
        f"""
[storage]
url = "{db_url}"

[http]
user_agent = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
allow_private = true
respect_robots = false
min_interval = 0
retries = 0
timeout = 5
deadline = 10
{http_extra}

[daemon]
listen = "{listen}"
alert_every = "1s"
alert_lease = "20s"
{daemon_extra}

[watchlist]
councils = ["West Berkshire"]
{body}
""",
        encoding="utf-8",
    )
    return path


def wait_for(cond: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `cond` until it is truthy; fail after `timeout` seconds (generous for slow CI)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running(config: Path, **kw: Any) -> Iterator[Daemon]:
    """A Daemon serving in a thread; stopped (and joined) on exit."""
    daemon = Daemon(str(config), leader_check=kw.pop("leader_check", 0.2), **kw)
    thread = threading.Thread(target=daemon.run, name="daemon", daemon=True)
    thread.start()
    try:
        wait_for(lambda: daemon.role == "active", what="the daemon to become active")
        yield daemon
    finally:
        daemon.request_stop()
        thread.join(40)


class DaemonProcess:
    """`python -m scraper --log-format json --config X run` with its log in a file."""

    def __init__(self, config: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._fh = log_path.open("wb")
        cmd = [sys.executable, "-m", "scraper", "--log-format", "json", "--config", str(config)]
        self.proc = subprocess.Popen(
            [*cmd, "run"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self._fh,
            env={**os.environ, **(env or {})},
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:  # a line being written right now
                    continue
        return out

    def wait_log(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        rx = re.compile(pattern)
        return wait_for(
            lambda: rx.search(self.text()) or self._died(), timeout, f"log line {pattern!r}"
        )

    def _died(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.text()[-3000:]}")

    def health_url(self) -> str:
        m = self.wait_log(r"listening on (http://[\d.:]+)/healthz")
        return m.group(1)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._fh.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._fh.close()


def set_last_poll(db_url: str, name: str, when: datetime) -> None:
    store = Store.open(db_url)
    with store.engine.begin() as conn:
        conn.execute(
            update(source_state).where(source_state.c.name == name).values(last_poll_at=when)
        )
    store.close()


def gaps(starts: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(starts)]
