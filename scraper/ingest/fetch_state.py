"""State one Fetcher shares between its views and threads: sessions, host slots, robots cache.

Kept apart from fetch.py's request logic so each reads on its own; nothing here sends a byte
except by handing out Sessions.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import requests
from requests.adapters import HTTPAdapter
from requests_hardened.ip_filter_adapter import IPFilterAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

from scraper.httputil import redact_text
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
    not_before_utc: datetime | None = None  # the same moment, for messages and the store


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


# -- the wall-clock deadline of one exchange ------------------------------------------------
# requests' timeouts bound each socket read, not the exchange: a server sending its status line
# a byte a second never trips them. Each exchange arms a timer; the connection registers its
# socket when it starts waiting for the response, and the timer shuts that socket down at the
# deadline, which ends the blocked read at once (closing the response from another thread does
# not). The guard is per thread because a requests Session is per thread here too.
_current = threading.local()


class ExchangeGuard:
    """Shuts the exchange's socket down when `seconds` have passed; `expired` says it did."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> ExchangeGuard:
        _current.guard = self
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        _current.guard = None
        with self._lock:
            self._sock = None

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired and sock is not None:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shutdown(self._sock)


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for TLS: SSLSocket.shutdown would drop its SSL state
    # under the reading thread's feet.
    with contextlib.suppress(OSError):  # already closed, or never connected
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch(sock: socket.socket | None) -> None:
    guard: ExchangeGuard | None = getattr(_current, "guard", None)
    if guard is not None:
        guard.watch(sock)


class _GuardedHTTPConnection(HTTPConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # urllib3 narrows it
        _watch(self.sock)
        return super().getresponse()


class _GuardedHTTPSConnection(HTTPSConnection):
    def getresponse(self) -> HTTPResponse:  # type: ignore[override]  # urllib3 narrows it
        _watch(self.sock)
        return super().getresponse()


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _guarded(adapter: HTTPAdapter) -> HTTPAdapter:
    adapter.poolmanager.pool_classes_by_scheme = {
        "http": _GuardedHTTPPool,
        "https": _GuardedHTTPSPool,
    }
    return adapter


class _RedactingFilter(logging.Filter):
    """urllib3 logs every request line at DEBUG ("GET /feed?token=... HTTP/1.1"): hide
    credentials there as everywhere else a source URL is shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact_text(record.msg) if isinstance(record.msg, str) else record.msg
        return True


for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactingFilter())


def new_session(allow_private: bool, loopback_ok: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would bypass the IP filter
    if allow_private:
        session.mount("http://", _guarded(HTTPAdapter()))
        session.mount("https://", _guarded(HTTPAdapter()))
    else:
        # Resolves once, refuses private ranges and pins the checked IP (no DNS rebinding).
        ip_http = IPFilterAdapter(is_https_proto=False, allow_loopback=loopback_ok)
        ip_https = IPFilterAdapter(is_https_proto=True, allow_loopback=loopback_ok)
        session.mount("http://", _guarded(ip_http))
        session.mount("https://", _guarded(ip_https))
    return session
