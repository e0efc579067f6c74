"""The fetch layer against a real loopback server (tests/httpserver.py)."""

from __future__ import annotations

import gzip
import ipaddress
import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from email.utils import formatdate
from typing import Any

import pytest

from scraper.errors import (
    BlockedAddressError,
    FetchError,
    HostUnreachableError,
    RobotsDisallowedError,
    TooLargeError,
)
from scraper.httputil import redact_text, redact_url, sniff_encoding
from scraper.ingest.fetch import Fetcher
from scraper.models import HttpPolicy, Validators
from tests.httpserver import LocalServer, Request, Response, fail_then, local_server
from tests.trickleserver import TrickleServer, trickle_server

__all__ = ["local_server", "trickle_server"]  # the fixtures, imported for pytest

LOCAL = HttpPolicy(allow_private=True, respect_robots=False, min_interval=0.0, deadline=5.0)
GOVUK_ROBOTS = Response.file("govuk/robots.txt", content_type="text/plain")


class Sleeps:
    """Records requested sleeps instead of sleeping, so retry tests run instantly."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Safety net: any socket connect outside 127.0.0.0/8 or ::1 fails the test loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            ip = ipaddress.ip_address(address[0])
            mapped = getattr(ip, "ipv4_mapped", None)
            if not (mapped or ip).is_loopback:
                raise AssertionError(f"test tried to connect to {address[0]}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(LOCAL) as f:
        yield f


def test_fetcher_sends_user_agent_accept_and_lowercases_headers(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    """The policy's User-Agent and the caller's Accept go out; header keys come back lower-case."""
    local_server.route("/a", Response(body=b"hi", headers={"X-Thing": "1"}))
    got = fetcher.get(local_server.url("/a"), accept="application/atom+xml")
    assert (got.status, got.body, got.headers["x-thing"]) == (200, b"hi", "1")
    sent = local_server.log[0].headers
    assert sent["user-agent"] == LOCAL.user_agent
    assert sent["accept"] == "application/atom+xml"


def _etag_route(request: Request) -> Response:
    if request.headers.get("if-none-match") == '"v1"':
        return Response(status=304)
    modified = "Mon, 01 Jul 2024 09:00:00 GMT"
    return Response(body=b"<feed/>", headers={"ETag": '"v1"', "Last-Modified": modified})


def test_fetcher_conditional_get(local_server: LocalServer, fetcher: Fetcher) -> None:
    """A 200 yields the new validators; sending them back yields a bodiless 304 that keeps them."""
    local_server.route("/feed", _etag_route)
    first = fetcher.get(local_server.url("/feed"))
    assert first.validators == Validators('"v1"', "Mon, 01 Jul 2024 09:00:00 GMT")
    second = fetcher.get(local_server.url("/feed"), validators=first.validators)
    assert second.not_modified and second.body == b""
    assert second.validators == first.validators
    sent = local_server.log[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Mon, 01 Jul 2024 09:00:00 GMT"


def test_fetcher_drip_aborted_at_deadline(local_server: LocalServer) -> None:
    """A 1-byte-per-0.5 s body is abandoned at the wall-clock deadline (at most deadline + 1 s)."""
    local_server.route("/drip", Response.drip(b"x" * 100, 0.5))
    with Fetcher(replace(LOCAL, deadline=1.0, timeout=3.0)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            f.get(local_server.url("/drip"))
        took = time.monotonic() - started
    assert took < 1.0 + 1.0 + 1.0  # requirement: 2.0 s; +1 s slack for a slow CI box
    assert len(local_server.log) <= 1  # a blown deadline is not retried


def test_fetcher_stalled_body_aborted_at_deadline_not_read_timeout(
    local_server: LocalServer,
) -> None:
    """A body that stalls after one byte is cut at the deadline even when timeout is longer."""
    local_server.route("/stall", Response.drip(b"xy", 10.0))
    with Fetcher(replace(LOCAL, deadline=1.0, timeout=8.0)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match="deadline"):
            f.get(local_server.url("/stall"))
        assert time.monotonic() - started < 1.0 + 1.0 + 1.0  # deadline + 1 s, plus 1 s CI slack


def test_fetcher_gzip_bomb_aborted_on_decoded_bytes(local_server: LocalServer) -> None:
    """50 KB of gzip inflating to 50 MB is refused once 1 MB is decoded, not inflated whole."""
    bomb = gzip.compress(b"\0" * 50_000_000)
    local_server.route("/bomb", Response(body=bomb, headers={"Content-Encoding": "gzip"}))
    with Fetcher(LOCAL) as f:
        started = time.monotonic()
        with pytest.raises(TooLargeError):
            f.get(local_server.url("/bomb"), max_bytes=1_000_000)
        took = time.monotonic() - started
        assert f.stats.bytes_read <= 1_000_000 + 65536
    assert took < 5.0  # should be well under 0.5 s; generous for CI (measured ~0.005 s)


def test_fetcher_content_length_over_cap_refused_before_reading(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    """A declared Content-Length above the cap is refused before any body byte is read."""
    local_server.route("/huge", Response(body=b"x" * 10, headers={"Content-Length": "200000000"}))
    with pytest.raises(TooLargeError, match="Content-Length"):
        fetcher.get(local_server.url("/huge"), max_bytes=1_000_000)
    assert fetcher.stats.bytes_read == 0


def test_fetcher_chunked_body_over_cap_refused(local_server: LocalServer, fetcher: Fetcher) -> None:
    """A body without Content-Length is counted as it streams and refused past the cap."""
    local_server.route("/stream", Response(body=(b"y" * 65536 for _ in range(100))))
    with pytest.raises(TooLargeError):
        fetcher.get(local_server.url("/stream"), max_bytes=200_000)
    assert fetcher.stats.bytes_read < 200_000 + 2 * 65536


def test_fetcher_retries_with_full_jitter_then_succeeds(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two 503s are retried after rand()*min(cap, base*2**n) seconds, each logged as a WARNING."""
    local_server.route("/flaky", fail_then(2, Response(body=b"ok")))
    sleeps = Sleeps()
    policy = replace(LOCAL, backoff_base=0.5, backoff_cap=30.0)
    with caplog.at_level(logging.WARNING), Fetcher(policy, sleep=sleeps, rand=lambda: 0.5) as f:
        assert f.get(local_server.url("/flaky")).body == b"ok"
    assert sleeps.calls == [0.25, 0.5]
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2 and all("status=503" in m for m in retries)


def test_fetcher_backoff_is_capped(local_server: LocalServer) -> None:
    """The backoff ceiling grows as base*2**n but never above backoff_cap."""
    local_server.route("/down", Response(status=502))
    sleeps = Sleeps()
    policy = replace(LOCAL, retries=4, backoff_base=1.0, backoff_cap=3.0)
    with Fetcher(policy, sleep=sleeps, rand=lambda: 1.0) as f, pytest.raises(FetchError) as info:
        f.get(local_server.url("/down"))
    assert sleeps.calls == [1.0, 2.0, 3.0, 3.0]
    assert info.value.status == 502
    assert len(local_server.log) == 5


def test_fetcher_404_raises_without_retry(local_server: LocalServer, fetcher: Fetcher) -> None:
    """A final non-2xx status raises FetchError carrying the status, after one request."""
    with pytest.raises(FetchError) as info:
        fetcher.get(local_server.url("/missing"))
    assert info.value.status == 404
    assert len(local_server.log) == 1


def test_fetcher_403_retried_only_by_a_view_that_asks(
    local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """403 fails at once by default; a view with 403 in retry_statuses retries it with a WARNING."""
    local_server.route("/ofsted", fail_then(1, Response(body=b"page"), status=403))
    sleeps = Sleeps()
    with Fetcher(LOCAL, sleep=sleeps) as f:
        with pytest.raises(FetchError) as info:
            f.get(local_server.url("/ofsted"))
        assert info.value.status == 403
        local_server.route("/ofsted", fail_then(1, Response(body=b"page"), status=403))
        view = f.view(replace(LOCAL, retry_statuses=(403, 429, 503)))
        with caplog.at_level(logging.WARNING):
            assert view.get(local_server.url("/ofsted")).body == b"page"
    assert any("status=403" in r.getMessage() for r in caplog.records)
    assert view.stats.requests == 2


def test_fetcher_retry_after_seconds_honoured_inline(local_server: LocalServer) -> None:
    """A 429 with Retry-After within the cap waits exactly that long, then retries."""
    local_server.route(
        "/rl", fail_then(1, Response(body=b"ok"), status=429, headers={"Retry-After": "7"})
    )
    sleeps = Sleeps()
    with Fetcher(LOCAL, sleep=sleeps) as f:
        assert f.get(local_server.url("/rl")).body == b"ok"
    assert sleeps.calls == [7.0]


def test_fetcher_retry_after_http_date_honoured(local_server: LocalServer) -> None:
    """Retry-After as an HTTP-date is turned into seconds from now."""
    when = formatdate(time.time() + 30, usegmt=True)
    local_server.route(
        "/rl", fail_then(1, Response(body=b"ok"), status=503, headers={"Retry-After": when})
    )
    sleeps = Sleeps()
    with Fetcher(LOCAL, sleep=sleeps) as f:
        f.get(local_server.url("/rl"))
    assert len(sleeps.calls) == 1 and 25 <= sleeps.calls[0] <= 31


def test_fetcher_long_retry_after_defers_host(local_server: LocalServer) -> None:
    """Retry-After 86400 raises at once; later requests to the host fail fast with no traffic."""
    local_server.route("/rl", Response(status=429, headers={"Retry-After": "86400"}))
    sleeps = Sleeps()
    with Fetcher(LOCAL, sleep=sleeps) as f:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            f.get(local_server.url("/rl"))
        assert time.monotonic() - started < 5.0  # a deferral holds a worker under 1 s
        assert (info.value.status, info.value.retry_after) == (429, 86400.0)
        with pytest.raises(FetchError, match="deferred by Retry-After until"):
            f.get(local_server.url("/other"))
    assert sleeps.calls == []
    assert len(local_server.log) == 1


def test_fetcher_connection_refused_retried_then_raises() -> None:
    """A refused connection is retried and ends in a FetchError without a status."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    with Fetcher(LOCAL, sleep=sleeps) as f, pytest.raises(FetchError) as info:
        f.get(f"http://127.0.0.1:{port}/")
    assert info.value.status is None
    assert len(sleeps.calls) == LOCAL.retries


def test_fetcher_follows_bounded_redirects(local_server: LocalServer) -> None:
    """Redirects are followed up to max_redirects and the final URL is reported."""
    local_server.route("/r1", Response(status=301, headers={"Location": "/r2"}))
    local_server.route("/r2", Response(status=302, headers={"Location": local_server.url("/end")}))
    local_server.route("/end", Response(body=b"done"))
    with Fetcher(LOCAL) as f:
        got = f.get(local_server.url("/r1"))
    assert (got.url, got.body) == (local_server.url("/end"), b"done")
    short = replace(LOCAL, max_redirects=1)
    with Fetcher(short) as f, pytest.raises(FetchError, match="redirects"):
        f.get(local_server.url("/r1"))


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "file:///etc/passwd"]
)
def test_fetcher_redirect_to_blocked_address_refused(
    local_server: LocalServer, target: str
) -> None:
    """Each redirect hop is re-checked: a loopback test host may not bounce us to a private one."""
    local_server.route("/bounce", Response(status=302, headers={"Location": target}))
    local_server.route("/ok", Response(body=b"fine"))
    policy = replace(LOCAL, allow_private=False)
    with Fetcher(policy, loopback_ok=True) as f:
        assert f.get(local_server.url("/ok")).body == b"fine"
        with pytest.raises(BlockedAddressError):
            f.get(local_server.url("/bounce"))


SSRF_VECTORS = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://100.64.0.1/",
    "https://10.0.0.1/",
    "file:///etc/passwd",
    "ftp://127.0.0.1/",
]


@pytest.mark.parametrize("url", SSRF_VECTORS)
@pytest.mark.parametrize("robots", [False, True])
def test_fetcher_blocks_private_addresses(url: str, robots: bool) -> None:
    """allow_private=False refuses loopback, private, link-local, CGNAT and non-http URLs."""
    policy = HttpPolicy(respect_robots=robots, retries=0, min_interval=0.0)
    with Fetcher(policy) as f, pytest.raises(BlockedAddressError):
        f.get(url)


def test_fetcher_per_host_politeness_across_threads() -> None:
    """One request in flight per host, starts >= min_interval apart, while two hosts overlap."""
    policy = replace(LOCAL, min_interval=0.4)
    with LocalServer("127.0.0.1", latency=0.2) as a, LocalServer("127.0.0.2", latency=0.2) as b:
        for server in (a, b):
            server.route("/p", Response(body=b"x"))
        urls = [s.url(f"/p?i={i}") for i in range(3) for s in (a, b)]
        with Fetcher(policy) as f, ThreadPoolExecutor(6) as pool:
            assert all(r.status == 200 for r in pool.map(f.get, urls))
        for server in (a, b):
            starts = sorted(e.started for e in server.log)
            assert server.max_concurrency == 1
            assert all(
                later - earlier >= 0.4 - 0.05 for earlier, later in itertools.pairwise(starts)
            )
        assert any(sa < eb and sb < ea for sa, ea in _spans(a) for sb, eb in _spans(b))


def _spans(server: LocalServer) -> list[tuple[float, float]]:
    return [(e.started, e.ended or e.started) for e in server.log]


def test_fetcher_views_share_host_slots(local_server: LocalServer) -> None:
    """Two views with different policies still take turns on one host."""
    local_server.latency = 0.1
    local_server.route("/v", Response(body=b"x"))
    with Fetcher(LOCAL) as f, ThreadPoolExecutor(4) as pool:
        views = [f.view(LOCAL), f.view(replace(LOCAL, retries=0))]
        list(pool.map(lambda i: views[i % 2].get(local_server.url(f"/v?{i}")), range(6)))
        assert f.stats.requests == 6
    assert local_server.max_concurrency == 1


def test_fetcher_keeps_a_session_per_thread(local_server: LocalServer, fetcher: Fetcher) -> None:
    """Requests from one thread reuse its keep-alive connection; another thread has its own."""
    local_server.route("/k", Response(body=b"x"))
    fetcher.get(local_server.url("/k"))
    fetcher.get(local_server.url("/k"))
    other = threading.Thread(target=fetcher.get, args=(local_server.url("/k"),))
    other.start()
    other.join()
    ports = [e.request.client[1] for e in local_server.log]
    assert ports[0] == ports[1] != ports[2]


ROBOTS_POLICY = replace(LOCAL, respect_robots=True)


def test_fetcher_obeys_govuk_robots(local_server: LocalServer) -> None:
    """search/all.atom is refused, the news feed and search API fetched, robots.txt read once."""
    local_server.route("/robots.txt", GOVUK_ROBOTS)
    for path in ("/search/news-and-communications.atom", "/api/search.json"):
        local_server.route(path, Response(body=b"ok"))
    with Fetcher(ROBOTS_POLICY) as f:
        with pytest.raises(RobotsDisallowedError):
            f.get(local_server.url("/search/all.atom?x"))
        assert f.get(local_server.url("/search/news-and-communications.atom")).status == 200
        assert f.get(local_server.url("/api/search.json?q=ofsted")).status == 200
    assert local_server.paths().count("/robots.txt") == 1
    assert "/search/all.atom?x" not in local_server.paths()


def test_fetcher_robots_4xx_allows_all(local_server: LocalServer) -> None:
    """A missing robots.txt (404) means no restrictions."""
    local_server.route("/x", Response(body=b"ok"))
    with Fetcher(ROBOTS_POLICY) as f:
        assert f.get(local_server.url("/x")).status == 200


def test_fetcher_robots_5xx_blocks_host_until_next_cycle(local_server: LocalServer) -> None:
    """A 5xx robots.txt disallows the host; begin_cycle() makes the fetcher ask again."""
    local_server.route("/robots.txt", Response(status=503))
    local_server.route("/x", Response(body=b"ok"))
    with Fetcher(ROBOTS_POLICY) as f:
        with pytest.raises(RobotsDisallowedError, match="unreachable"):
            f.get(local_server.url("/x"))
        with pytest.raises(RobotsDisallowedError):
            f.get(local_server.url("/x"))
        assert local_server.paths() == ["/robots.txt"]
        local_server.route("/robots.txt", Response(body=b"User-agent: *\nAllow: /\n"))
        f.begin_cycle()
        assert f.get(local_server.url("/x")).status == 200


def test_fetcher_honours_crawl_delay(local_server: LocalServer) -> None:
    """A Crawl-delay above min_interval spaces request starts to one host."""
    local_server.route("/robots.txt", Response(body=b"User-agent: *\nCrawl-delay: 0.5\n"))
    local_server.route("/c", Response(body=b"x"))
    with Fetcher(ROBOTS_POLICY) as f:
        for i in range(3):
            f.get(local_server.url(f"/c?{i}"))
    starts = [e.started for e in local_server.log]
    assert len(starts) == 4
    assert all(later - earlier >= 0.45 for earlier, later in itertools.pairwise(starts))


def test_fetcher_robots_read_only_to_500_kib(local_server: LocalServer) -> None:
    """A huge robots.txt is truncated at 500 KiB and still obeyed."""
    filler = (b"# padding\n" * 6554 for _ in range(30))  # about 2 MB, chunked
    local_server.route(
        "/robots.txt", Response(body=_chain([b"User-agent: *\nDisallow: /no\n"], filler))
    )
    with Fetcher(ROBOTS_POLICY) as f:
        with pytest.raises(RobotsDisallowedError):
            f.get(local_server.url("/no"))
        assert f.stats.bytes_read <= 500 * 1024 + 65536


def _chain(*parts: Any) -> Iterator[bytes]:
    for part in parts:
        yield from part


def test_fetcher_robots_skipped_when_policy_says(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    """respect_robots=False never asks for robots.txt."""
    local_server.route("/robots.txt", Response(body=b"User-agent: *\nDisallow: /\n"))
    local_server.route("/x", Response(body=b"ok"))
    assert fetcher.get(local_server.url("/x")).status == 200
    assert local_server.paths() == ["/x"]


def test_fetcher_counts_requests_and_bytes(local_server: LocalServer, fetcher: Fetcher) -> None:
    """Stats add up requests (every attempt) and decoded body bytes, per view and in total."""
    local_server.route("/b", Response(body=b"x" * 1000))
    view = fetcher.view(LOCAL)
    view.get(local_server.url("/b"))
    fetcher.get(local_server.url("/b"))
    assert (view.stats.requests, view.stats.bytes_read) == (1, 1000)
    assert (fetcher.stats.requests, fetcher.stats.bytes_read) == (2, 2000)


def test_fetcher_reports_declared_or_sniffed_encoding(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    """Fetched.encoding is the declared charset, else the XML declaration's; body stays bytes."""
    local_server.route(
        "/d", Response(body=b"caf\xe9", headers={"Content-Type": "text/plain; charset=ISO-8859-1"})
    )
    local_server.route("/s", Response(body=b"<?xml version='1.0' encoding='windows-1252'?><a/>"))
    declared = fetcher.get(local_server.url("/d"))
    assert (declared.encoding, declared.body) == ("iso-8859-1", b"caf\xe9")
    assert fetcher.get(local_server.url("/s")).encoding == "windows-1252"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ('text/html; charset="UTF-8"', b"", "utf-8"),
        ("text/html", b'<html><head><meta charset="iso-8859-1">', "iso-8859-1"),
        (
            "text/html",
            b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
            "windows-1252",
        ),
        ("application/xml", b'<?xml version="1.0" encoding="UTF-8"?><feed/>', "utf-8"),
        ("application/xml", b"\xef\xbb\xbf<feed/>", "utf-8"),
        ("text/plain", b"\xff\xfeh\x00i\x00", "utf-16-le"),
        ("text/plain; charset=bogus-42", b"<meta charset='utf-8'>", "utf-8"),
        ("text/plain", b"plain", None),
    ],
)
def test_sniff_encoding(content_type: str, body: bytes, expected: str | None) -> None:
    """Declared charset wins, then BOM, XML declaration or meta; unknown names are skipped."""
    assert sniff_encoding(content_type, body) == expected


def test_fetcher_trickled_status_line_cut_at_deadline(trickle_server: TrickleServer) -> None:
    """A server sending its status line a byte a second is cut at the deadline, not per read."""
    trickle_server.trickle.add("/slow")
    trickle_server.routes["/ok"] = b"fine"
    with Fetcher(replace(LOCAL, deadline=1.5, timeout=5.0)) as f:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"deadline of 1\.5s exceeded"):
            f.get(trickle_server.url("/slow"))
        took = time.monotonic() - started
        assert f.get(trickle_server.url("/ok")).body == b"fine"  # the host is free again
    assert took < 1.5 + 1.0 + 1.0  # requirement: deadline + 1 s; +1 s slack for a slow CI box
    assert [p for p, _ in trickle_server.starts] == ["/slow", "/ok"]  # the cut is not retried


def test_fetcher_connection_refused_named_as_such_not_as_robots(local_server: LocalServer) -> None:
    """A host that refuses connections is reported as unreachable, not as robots.txt trouble."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Fetcher(replace(LOCAL, respect_robots=True)) as f, pytest.raises(FetchError) as info:
        f.get(f"http://127.0.0.1:{port}/feed")
    assert isinstance(info.value, HostUnreachableError)
    assert "connection refused" in str(info.value)
    assert "robots" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@example.org/feed", "https://***@example.org/feed"),
        ("https://example.org/f?token=abc&page=2", "https://example.org/f?token=***&page=2"),
        ("https://example.org/f?API-Key=abc", "https://example.org/f?API-Key=***"),
        ("https://example.org/f?sig=abc#x", "https://example.org/f?sig=***#x"),
        ("https://example.org/f?page=2", "https://example.org/f?page=2"),
    ],
)
def test_redact_url_hides_userinfo_and_credential_params(url: str, expected: str) -> None:
    """user:pass@ and token-like query values are replaced by *** and nothing else changes."""
    assert redact_url(url) == expected


def test_redact_text_hides_credentials_quoted_inside_library_errors() -> None:
    """A library's message quoting the URL is redacted too."""
    text = "Max retries exceeded with url: /feed?key=abc&x=1 (http://u:p@h/)"
    assert redact_text(text) == "Max retries exceeded with url: /feed?key=***&x=1 (http://***@h/)"
