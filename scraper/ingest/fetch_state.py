"""State one Fetcher shares between its views and threads: sessions, host slots, robots cache.

Kept apart from fetch.py's request logic so each reads on its own; nothing here sends a byte
except by handing out Sessions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from scraper.ingest.robots import Robots

ROBOTS_TTL = 24 * 3600.0  # RFC 9309: cache robots.txt for at most about a day
ROBOTS_FAILURE_TTL = 600.0  # an unreachable robots.txt blocks its host this long (one cycle)


@dataclass(frozen=True, slots=True)
class FetchStats:
    """Requests sent (every attempt, robots.txt included) and decoded body bytes read."""

    requests: int = 0
    bytes_read: int = 0


class Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._bytes = 0

    def add(self, requests: int = 0, bytes_read: int = 0) -> None:
        with self._lock:
            self._requests += requests
            self._bytes += bytes_read

    def snapshot(self) -> FetchStats:
        with self._lock:
            return FetchStats(self._requests, self._bytes)


@dataclass(slots=True)
class Host:
    """Politeness state of one host (hostname:port); `lock` is held for a whole exchange."""

    lock: threading.Lock
    last_start: float | None = None
    not_before: float = 0.0  # monotonic
    not_before_utc: str = ""  # the same moment, for messages


class Shared:
    """State shared by every view of one Fetcher."""

    def __init__(
        self,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
        rand: Callable[[], float],
        loopback_ok: bool,
    ) -> None:
        self.sleep, self.monotonic, self.rand = sleep, monotonic, rand
        self.loopback_ok = loopback_ok
        self.stats = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._hosts: dict[str, Host] = {}
        self._robots: dict[str, tuple[Robots, float]] = {}  # origin -> (rules, expires)
        self._robots_locks: dict[str, threading.Lock] = {}

    def session(self, allow_private: bool) -> requests.Session:
        """This thread's Session for the given address policy."""
        sessions: dict[bool, requests.Session] = self._local.__dict__.setdefault("sessions", {})
        if allow_private not in sessions:
            sessions[allow_private] = new_session(allow_private, self.loopback_ok)
            with self._lock:
                self._sessions.append(sessions[allow_private])
        return sessions[allow_private]

    def host(self, key: str) -> Host:
        with self._lock:
            return self._hosts.setdefault(key, Host(threading.Lock()))

    def robots_lock(self, origin: str) -> threading.Lock:
        with self._lock:
            return self._robots_locks.setdefault(origin, threading.Lock())

    def cached_robots(self, origin: str) -> Robots | None:
        with self._lock:
            entry = self._robots.get(origin)
        return entry[0] if entry and entry[1] > self.monotonic() else None

    def store_robots(self, origin: str, robots: Robots) -> None:
        ttl = ROBOTS_FAILURE_TTL if robots.disallow_all else ROBOTS_TTL
        with self._lock:
            self._robots[origin] = (robots, self.monotonic() + ttl)

    def forget_robots_failures(self) -> None:
        with self._lock:
            self._robots = {k: v for k, v in self._robots.items() if not v[0].disallow_all}

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def new_session(allow_private: bool, loopback_ok: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would bypass the IP filter
    if not allow_private:
        # Resolves once, refuses private ranges and pins the checked IP (no DNS rebinding).
        session.mount("http://", IPFilterAdapter(is_https_proto=False, allow_loopback=loopback_ok))
        session.mount("https://", IPFilterAdapter(is_https_proto=True, allow_loopback=loopback_ok))
    return session
