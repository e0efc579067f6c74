"""The only module that speaks HTTP for sources: caps, politeness, robots.txt, conditional GET.

One `Fetcher` per process owns the state every source shares: a requests Session per worker
thread (requests promises no thread safety for a shared Session), a lock and a last-start
time per host (one request in flight, min_interval or Crawl-delay apart), Retry-After
deferrals, and the robots.txt cache. `Fetcher.view(policy)` gives a source its own policy over
that shared state. Bodies are read with `raw.read1()` so a wall-clock deadline and a cap on
*decoded* bytes hold against slow drips and gzip bombs.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests_hardened.ip_filter import InvalidIPAddress

from scraper.clock import iso_utc, utcnow
from scraper.errors import (
    BlockedAddressError,
    FetchError,
    HostDeferredError,
    HostUnreachableError,
    RobotsDisallowedError,
    TooLargeError,
)
from scraper.httputil import redact_text, redact_url, retry_after_seconds, sniff_encoding
from scraper.ingest.fetch_errors import connection_failure
from scraper.ingest.fetch_state import Counter, ExchangeGuard, FetchStats, Host, Shared
from scraper.ingest.robots import MAX_ROBOTS_BYTES, Robots, parse_robots
from scraper.models import Fetched, HttpPolicy, Validators

log = logging.getLogger(__name__)

NOT_BEFORE_CAP = 6 * 3600.0  # longest a Retry-After may defer a host (req. 9)
MAX_CRAWL_DELAY = 120.0  # a hostile Crawl-delay must not park a worker for hours
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 65536
_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_BODY_RETRYABLE = (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class _Reply:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""


class _Retry(Exception):
    """A connection-level failure worth another attempt; `unreachable`: nothing answered."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


class FetchView:
    """One policy over a Fetcher's shared state; implements `scraper.models.Fetch`."""

    def __init__(self, shared: Shared, policy: HttpPolicy, *, truncate: bool = False) -> None:
        self.policy = policy
        self._shared = shared
        self._truncate = truncate  # robots.txt: keep the first max_bytes instead of failing
        self._stats = Counter()

    @property
    def stats(self) -> FetchStats:
        return self._stats.snapshot()

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        max_bytes: int | None = None,
        accept: str | None = None,
    ) -> Fetched:
        """GET `url`, following redirects; raises a FetchError subclass on failure."""
        started = self._shared.monotonic()
        old = validators or Validators()
        headers = _request_headers(self.policy, old, accept)
        # A source's own cap (feeds 5 MiB, say) can only tighten the configured one.
        cap = self.policy.max_bytes if max_bytes is None else min(max_bytes, self.policy.max_bytes)
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            reply = self._get_one(current, headers, cap)
            if reply.status in REDIRECTS:
                current = _redirect_target(reply)
                continue
            if reply.status != 304 and not 200 <= reply.status < 300:
                raise FetchError(current, f"HTTP {reply.status}", status=reply.status)
            elapsed = self._shared.monotonic() - started
            return _fetched(reply, old, elapsed)
        raise FetchError(url, f"more than {self.policy.max_redirects} redirects")

    def _get_one(self, url: str, headers: dict[str, str], cap: int) -> _Reply:
        """One URL (no redirects followed), with retries and backoff."""
        _check_scheme(url)
        key = _host_key(url)
        self._check_not_before(url, self._shared.host(key))
        if self.policy.respect_robots:
            self._check_robots(url)
        attempt = 0
        while True:
            status, retry_after, cause = None, None, None
            try:
                reply = self._attempt(url, key, headers, cap)
            except _Retry as exc:
                cause = exc
            else:
                if reply.status not in self.policy.retry_statuses:
                    return reply
                status, retry_after = (
                    reply.status,
                    retry_after_seconds(reply.headers.get("retry-after")),
                )
            self._give_up_or_wait(
                url, key, attempt, status=status, retry_after=retry_after, cause=cause
            )
            attempt += 1

    def _give_up_or_wait(
        self,
        url: str,
        key: str,
        attempt: int,
        *,
        status: int | None,
        retry_after: float | None,
        cause: Exception | None,
    ) -> None:
        what = f"HTTP {status}" if status else str(cause)
        if retry_after is not None and retry_after > self.policy.retry_after_cap:
            until = self._defer(key, retry_after)
            log.warning(
                "deferring host=%s status=%s retry_after=%.0fs until=%s",
                key,
                status,
                retry_after,
                iso_utc(until),
            )
            raise HostDeferredError(
                url,
                f"{what}: Retry-After {retry_after:.0f}s, host deferred until {iso_utc(until)}",
                host=key,
                until=until,
                asked=True,
                status=status,
                retry_after=retry_after,
            )
        if attempt >= self.policy.retries:
            error = (
                HostUnreachableError
                if isinstance(cause, _Retry) and cause.unreachable
                else FetchError
            )
            tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
            raise error(
                url, f"{what} after {tries}", status=status, retry_after=retry_after
            ) from cause
        cap = min(self.policy.backoff_cap, self.policy.backoff_base * 2**attempt)
        wait = retry_after if retry_after is not None else self._shared.rand() * cap
        log.warning(
            "retrying url=%s status=%s reason=%r attempt=%d/%d wait=%.2fs",
            redact_url(url),
            status,
            redact_text(what),
            attempt + 1,
            self.policy.retries,
            wait,
        )
        self._shared.sleep(wait)

    def _defer(self, key: str, retry_after: float) -> datetime:
        """Keep away from `key` for Retry-After seconds (at most NOT_BEFORE_CAP); never
        shortens a deferral already in force."""
        delay = min(retry_after, NOT_BEFORE_CAP)
        host = self._shared.host(key)
        until = (utcnow() + timedelta(seconds=delay)).replace(microsecond=0)
        with host.lock:
            if self._shared.monotonic() + delay > host.not_before:
                host.not_before = self._shared.monotonic() + delay
                host.not_before_utc = until
            return host.not_before_utc or until

    def _check_not_before(self, url: str, host: Host) -> None:
        wait = host.not_before - self._shared.monotonic()
        if wait > 0:
            until = host.not_before_utc or utcnow() + timedelta(seconds=wait)
            raise HostDeferredError(
                url,
                f"host deferred by Retry-After until {iso_utc(until)}; not asked",
                host=_host_key(url),
                until=until,
                asked=False,
                retry_after=wait,
            )

    def _attempt(self, url: str, key: str, headers: dict[str, str], cap: int) -> _Reply:
        """One exchange while holding the host's slot, started no sooner than its interval."""
        host = self._shared.host(key)
        with host.lock:
            self._check_not_before(url, host)
            if host.last_start is not None:
                wait = host.last_start + self._interval(url) - self._shared.monotonic()
                if wait > 0:
                    self._shared.sleep(wait)
            host.last_start = self._shared.monotonic()
            self._count(requests=1)
            return self._exchange(url, headers, cap)

    def _interval(self, url: str) -> float:
        delay = None
        if self.policy.respect_robots:
            robots = self._shared.cached_robots(_origin(url))
            delay = robots.crawl_delay(self.policy.user_agent) if robots else None
        return max(self.policy.min_interval, min(delay or 0.0, MAX_CRAWL_DELAY))

    def _exchange(self, url: str, headers: dict[str, str], cap: int) -> _Reply:
        """One request and response, all of it (connect, headers, body) within the deadline."""
        with ExchangeGuard(self.policy.deadline) as guard:
            reply = self._exchange_guarded(url, headers, cap, guard)
        log.debug(
            "fetched url=%s status=%d bytes=%d", redact_url(url), reply.status, len(reply.body)
        )
        return reply

    def _exchange_guarded(
        self, url: str, headers: dict[str, str], cap: int, guard: ExchangeGuard
    ) -> _Reply:
        started = self._shared.monotonic()
        limit = max(0.001, min(self.policy.timeout, self.policy.deadline))
        session = self._shared.session(self.policy.allow_private)
        try:
            resp = session.get(
                url, headers=headers, timeout=(limit, limit), stream=True, allow_redirects=False
            )
        except InvalidIPAddress as exc:
            raise BlockedAddressError(url, f"address {exc} is not public") from exc
        except _RETRYABLE as exc:
            self._check_deadline(url, started, guard, exc)
            reason, unreachable = connection_failure(_host_key(url), exc)
            raise _Retry(reason, unreachable=unreachable) from exc
        except requests.RequestException as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
        with resp:
            reply_headers = {k.lower(): v for k, v in resp.headers.items()}
            body = b""
            if 200 <= resp.status_code < 300:
                body = self._read_body(resp, url, cap, started, guard)
        return _Reply(resp.url or url, resp.status_code, reply_headers, body)

    def _check_deadline(
        self, url: str, started: float, guard: ExchangeGuard, exc: Exception | None = None
    ) -> None:
        elapsed = self._shared.monotonic() - started
        if guard.expired or elapsed >= self.policy.deadline - 0.01:
            raise FetchError(url, f"deadline of {self.policy.deadline:g}s exceeded") from exc

    def _read_body(
        self, resp: requests.Response, url: str, cap: int, started: float, guard: ExchangeGuard
    ) -> bytes:
        """Stream decoded bytes; stop at the cap or the wall-clock deadline, whichever first."""
        length = resp.headers.get("content-length", "")
        encoded = resp.headers.get("content-encoding", "identity").lower() != "identity"
        if not encoded and length.isdigit() and int(length) > cap and not self._truncate:
            raise TooLargeError(url, f"Content-Length {length} exceeds max_bytes {cap}")
        body = bytearray()
        sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
        while True:
            remaining = self.policy.deadline - (self._shared.monotonic() - started)
            if remaining <= 0 or guard.expired:  # a cut connection must not pass for the end
                raise FetchError(
                    url, f"deadline of {self.policy.deadline:g}s exceeded after {len(body)} bytes"
                )
            if sock is not None:  # each read may block only until the deadline
                sock.settimeout(min(self.policy.timeout, remaining))
            chunk = self._read1(resp, url, started, guard)
            if not chunk:
                if guard.expired:
                    continue  # reported by the check above
                return bytes(body)
            body += chunk
            self._count(bytes_read=len(chunk))
            if len(body) > cap:
                if self._truncate:
                    return bytes(body[:cap])
                raise TooLargeError(url, f"body exceeds max_bytes {cap} (decoded)")

    def _read1(
        self, resp: requests.Response, url: str, started: float, guard: ExchangeGuard
    ) -> bytes:
        try:
            return resp.raw.read1(_CHUNK, decode_content=True)
        except urllib3.exceptions.DecodeError as exc:
            raise FetchError(url, f"undecodable body: {exc}") from exc
        except _BODY_RETRYABLE as exc:
            self._check_deadline(url, started, guard, exc)
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc

    def _count(self, requests: int = 0, bytes_read: int = 0) -> None:
        self._stats.add(requests, bytes_read)
        self._shared.stats.add(requests, bytes_read)

    def _check_robots(self, url: str) -> None:
        try:
            robots = self._robots_for(_origin(url))
        except HostUnreachableError as exc:  # the host itself is down, not its robots.txt
            raise HostUnreachableError(url, exc.reason) from exc
        if robots.disallow_all:
            why = f" ({robots.reason})" if robots.reason else ""
            reason = f"robots.txt unreachable{why}; host skipped this cycle"
            raise RobotsDisallowedError(url, reason)
        if not robots.can_fetch(self.policy.user_agent, url):
            raise RobotsDisallowedError(url, "disallowed by robots.txt")

    def _robots_for(self, origin: str) -> Robots:
        """The cached rules for `origin`, fetching robots.txt (once, under a lock) if stale."""
        with self._shared.robots_lock(origin):
            robots = self._shared.cached_robots(origin)
            if robots is None:
                robots = self._fetch_robots(origin)
                self._shared.store_robots(origin, robots)
            return robots

    def _fetch_robots(self, origin: str) -> Robots:
        policy = replace(self.policy, respect_robots=False, retries=0)
        view = FetchView(self._shared, policy, truncate=True)
        try:
            fetched = view.get(f"{origin}/robots.txt", max_bytes=MAX_ROBOTS_BYTES)
        except (BlockedAddressError, HostUnreachableError):
            self._stats.add(*_stats_tuple(view.stats))
            raise
        except FetchError as exc:
            self._stats.add(*_stats_tuple(view.stats))  # the shared totals already have it
            # RFC 9309 §2.3.1: 4xx means no rules; 5xx or unreachable means disallow all.
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return Robots()
            log.warning(
                "robots.txt unreachable origin=%s reason=%s", redact_url(origin), exc.reason
            )
            return Robots(disallow_all=True, reason=exc.reason)
        self._stats.add(*_stats_tuple(view.stats))
        return parse_robots(fetched.body)


def _stats_tuple(stats: FetchStats) -> tuple[int, int]:
    return stats.requests, stats.bytes_read


class Fetcher:
    """Thread-safe; shared by all sources in a process.

    `loopback_ok` lets a policy with allow_private=False still reach 127.0.0.0/8 and ::1 while
    every other private range stays blocked (tests, and a local development proxy).
    """

    def __init__(
        self,
        policy: HttpPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        loopback_ok: bool = False,
    ) -> None:
        self.policy = policy
        self._shared = Shared(sleep, monotonic, rand, loopback_ok)
        self._default = FetchView(self._shared, policy)

    def view(self, policy: HttpPolicy) -> FetchView:
        """A view with its own policy sharing host slots, deferrals and the robots cache."""
        return FetchView(self._shared, policy)

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        max_bytes: int | None = None,
        accept: str | None = None,
    ) -> Fetched:
        """GET with the fetcher's own policy."""
        return self._default.get(url, validators=validators, max_bytes=max_bytes, accept=accept)

    @property
    def stats(self) -> FetchStats:
        """Totals over every view of this fetcher."""
        return self._shared.stats.snapshot()

    def defer_host(self, url_or_key: str, seconds: float) -> None:
        """Honour a deferral remembered from an earlier run: no request to that host for
        `seconds` (at most NOT_BEFORE_CAP, as for a Retry-After answered in this run)."""
        if seconds > 0:
            key = _host_key(url_or_key) if "://" in url_or_key else url_or_key.lower()
            self._default._defer(key, seconds)

    def begin_cycle(self) -> None:
        """Forget robots.txt failures so a host blocked last cycle is tried again."""
        self._shared.forget_robots_failures()

    def close(self) -> None:
        self._shared.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise BlockedAddressError(url, "only http and https URLs are fetched")


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _request_headers(policy: HttpPolicy, old: Validators, accept: str | None) -> dict[str, str]:
    headers = {"User-Agent": policy.user_agent, "Accept": accept or "*/*"}
    if old.etag:
        headers["If-None-Match"] = old.etag
    if old.last_modified:
        headers["If-Modified-Since"] = old.last_modified
    return headers


def _redirect_target(reply: _Reply) -> str:
    location = reply.headers.get("location")
    if not location:
        raise FetchError(reply.url, f"HTTP {reply.status} without a Location", status=reply.status)
    return urljoin(reply.url, location)


def _fetched(reply: _Reply, old: Validators, elapsed: float) -> Fetched:
    etag, modified = reply.headers.get("etag"), reply.headers.get("last-modified")
    if reply.status == 304:  # a 304 may omit the validators: keep the ones we sent
        validators = Validators(etag or old.etag, modified or old.last_modified)
        return Fetched(reply.url, 304, b"", reply.headers, None, validators, elapsed)
    encoding = sniff_encoding(reply.headers.get("content-type", ""), reply.body)
    validators = Validators(etag, modified)
    return Fetched(
        reply.url, reply.status, reply.body, reply.headers, encoding, validators, elapsed
    )
