"""Webhook channel against a real threaded HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from scraper.alerts.channels.signing import generate_secret
from scraper.alerts.channels.webhook import WebhookTarget, parse_retry_after, send_webhook
from tests.smtpserver import closed_port
from tests.test_formats import fixed_detection
from tests.trickle import Trickler

SECRET = generate_secret()


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A loopback HTTP server that records POSTs and answers from a script (default 200)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: list[Reply] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(self.path, headers, body))
                reply = receiver.replies.pop(0) if receiver.replies else Reply()
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading, as it should for huge bodies

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def target(url: str, **changes: object) -> WebhookTarget:
    values: dict[str, object] = {
        "name": "test",
        "url": url,
        "secret": SECRET,
        "allow_private": True,
    }
    values.update(changes)
    return WebhookTarget(**values)  # type: ignore[arg-type]


def spec_verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """Our own verifier, written from the Standard Webhooks spec (not our signing module)."""
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, "sha256").digest())
    candidates = [s.partition(",") for s in headers["webhook-signature"].split(" ")]
    return any(
        v == "v1" and hmac.compare_digest(sig.encode(), expected) for v, _, sig in candidates
    )


def test_send_webhook_posts_signed_standard_webhook(receiver: Receiver) -> None:
    """A 2xx delivery carries the exact signed bytes and every documented header."""
    data = fixed_detection()
    delivery = send_webhook(target(receiver.url, user_agent="ow-test/1"), "msg_abc", data)
    assert (delivery.outcome, delivery.detail) == ("delivered", "HTTP 200")
    (got,) = receiver.received
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == got.headers["idempotency-key"] == "msg_abc"
    assert got.headers["user-agent"] == "ow-test/1"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert spec_verify(SECRET, got.headers, got.body)
    assert Webhook(SECRET).verify(got.body, got.headers)["data"] == data.data()
    assert json.loads(got.body)["timestamp"] == data.data()["first_seen"]


def test_send_webhook_retry_keeps_id_and_body_with_fresh_timestamp(receiver: Receiver) -> None:
    """A retried alert has the same webhook-id and body, and this attempt's timestamp."""
    receiver.replies = [Reply(503)]
    start = datetime.now(UTC)
    first = send_webhook(target(receiver.url), "msg_r", fixed_detection(), now=lambda: start)
    later = start + timedelta(seconds=42)
    second = send_webhook(target(receiver.url), "msg_r", fixed_detection(), now=lambda: later)
    assert (first.outcome, second.outcome) == ("retry", "delivered")
    one, two = receiver.received
    assert one.headers["webhook-id"] == two.headers["webhook-id"] == "msg_r"
    assert one.body == two.body
    assert int(two.headers["webhook-timestamp"]) - int(one.headers["webhook-timestamp"]) == 42
    assert one.headers["webhook-signature"] != two.headers["webhook-signature"]


@pytest.mark.parametrize(
    ("reply", "outcome", "detail", "retry_after"),
    [
        (Reply(201), "delivered", "HTTP 201", None),
        (Reply(204, body=b""), "delivered", "HTTP 204", None),
        (Reply(302, {"Location": "/elsewhere"}), "retry", "redirect not followed", None),
        (Reply(410), "rejected", "endpoint gone", None),
        (
            Reply(400, body=b"invalid_payload\r\nmore"),
            "rejected",
            "HTTP 400: invalid_payload more",
            None,
        ),
        (Reply(404, body=b""), "rejected", "HTTP 404: (empty body)", None),
        (Reply(408), "retry", "HTTP 408", None),
        (Reply(429, {"Retry-After": "7"}), "retry", "HTTP 429", 7.0),
        (Reply(503, {"Retry-After": "99999"}), "retry", "HTTP 503", 3600.0),
        (Reply(500), "retry", "HTTP 500", None),
    ],
)
def test_send_webhook_maps_status_to_outcome(
    receiver: Receiver, reply: Reply, outcome: str, detail: str, retry_after: float | None
) -> None:
    """2xx delivers; 3xx, 408, 429 and 5xx retry (Retry-After honoured); other 4xx reject."""
    receiver.replies = [reply]
    delivery = send_webhook(target(receiver.url), "msg_s", fixed_detection())
    assert delivery.outcome == outcome
    assert detail in delivery.detail
    assert delivery.retry_after == retry_after
    assert len(receiver.received) == 1  # never follows a redirect


def test_send_webhook_snippet_is_capped(receiver: Receiver) -> None:
    """A 4xx with a 1 MiB body is rejected with at most 500 characters of it in the detail."""
    receiver.replies = [Reply(422, body=b"x" * (1 << 20))]
    delivery = send_webhook(target(receiver.url), "msg_big", fixed_detection())
    assert delivery.outcome == "rejected"
    assert len(delivery.detail) <= len("HTTP 422: ") + 500


def test_send_webhook_timeout_is_a_retry(receiver: Receiver) -> None:
    """A receiver slower than the timeout gives a retry, not a hang."""
    receiver.replies = [Reply(200, delay=3.0)]
    started = time.monotonic()
    delivery = send_webhook(target(receiver.url, timeout=0.5), "msg_t", fixed_detection())
    assert (delivery.outcome, delivery.detail) == ("retry", "timed out after 0.5 s")
    assert time.monotonic() - started < 2.5  # generous: the timeout is 0.5 s


def test_send_webhook_connection_refused_is_a_retry() -> None:
    """Nothing listening on the port is a retry with a connection detail."""
    url = f"http://127.0.0.1:{closed_port()}/hook"
    delivery = send_webhook(target(url), "msg_c", fixed_detection())
    assert delivery.outcome == "retry"
    assert delivery.detail.startswith("connection failed")


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f.0.0.1",
        "127.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
        "169.254.169.254",
        "10.0.0.1",
        "100.64.0.1",
    ],
)
def test_send_webhook_refuses_internal_addresses(receiver: Receiver, host: str) -> None:
    """With allow_private false, loopback/private/link-local/CGNAT/unspecified URLs are refused."""
    url = f"http://{host}:{receiver.server.server_address[1]}/hook"
    delivery = send_webhook(target(url, allow_private=False), "msg_x", fixed_detection())
    assert delivery.outcome == "rejected"
    assert "refused" in delivery.detail and "allow_private" in delivery.detail
    assert receiver.received == []


def test_send_webhook_refuses_non_http_schemes() -> None:
    """file:// (or any non-http scheme) is refused before any I/O."""
    delivery = send_webhook(
        target("file:///etc/passwd", allow_private=False), "m", fixed_detection()
    )
    assert delivery.outcome == "rejected"
    assert "'file' is not http or https" in delivery.detail


def test_send_webhook_does_not_follow_redirect_to_metadata(receiver: Receiver) -> None:
    """A redirect from an allowed receiver to an internal address is not followed."""
    receiver.replies = [Reply(307, {"Location": "http://169.254.169.254/latest/meta-data/"})]
    delivery = send_webhook(target(receiver.url), "msg_redir", fixed_detection())
    assert delivery.outcome == "retry"
    assert "redirect not followed" in delivery.detail
    assert "169.254" not in delivery.detail
    assert len(receiver.received) == 1


@pytest.mark.parametrize("fmt", ["slack", "teams", "discord"])
def test_send_webhook_chat_formats_are_signed_when_secret_set(receiver: Receiver, fmt: str) -> None:
    """Chat formats send their own JSON and, with a secret, the same verifiable signature."""
    send_webhook(target(receiver.url, format=fmt), "msg_chat", fixed_detection())
    send_webhook(target(receiver.url, format=fmt, secret=None), "msg_chat", fixed_detection())
    signed, unsigned = receiver.received
    assert Webhook(SECRET).verify(signed.body, signed.headers)
    assert "type" not in json.loads(signed.body) or fmt == "teams"
    assert "webhook-signature" not in unsigned.headers
    assert unsigned.headers["webhook-id"] == "msg_chat"


def test_send_webhook_never_leaks_the_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Secrets stay out of logs, details and reprs, even when a receiver echoes them back."""
    caplog.set_level(logging.DEBUG)
    receiver.replies = [Reply(400, body=f"bad signature for {SECRET}".encode()), Reply(500)]
    rotating = f"{SECRET} {generate_secret()}"
    hook = target(receiver.url, secret=rotating)
    deliveries = [send_webhook(hook, "msg_l", fixed_detection()) for _ in range(2)]
    deliveries.append(
        send_webhook(target(f"http://127.0.0.1:{closed_port()}/"), "m", fixed_detection())
    )
    with pytest.raises(ValueError) as bad:
        target(receiver.url, secret="whsec_" + "A" * 8)
    details = repr(deliveries) + repr(hook) + str(bad.value)
    assert deliveries[0].outcome == "rejected" and "***" in deliveries[0].detail
    for secret in (*rotating.split(), "A" * 8):
        assert secret not in caplog.text
        assert secret not in details
    assert "/hook" not in repr(hook)  # chat webhook URLs carry their token in the path


def test_webhook_target_rejects_unknown_format() -> None:
    """A format outside the registry is a ValueError at construction."""
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        target("https://example.org/", format="xml")


def test_parse_retry_after_seconds_and_http_date() -> None:
    """Retry-After accepts delta-seconds and HTTP-dates, clamps to [0, 3600], ignores junk."""
    now = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0.0
    assert parse_retry_after("86400", now) == 3600.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_send_webhook_cuts_a_trickled_status_line_at_the_timeout() -> None:
    """A receiver sending its status line a byte at a time is cut at `timeout`, whole exchange."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    with Trickler(reply, interval=0.2) as peer:  # ~12 s in all; no single read waits 1 s
        started = time.monotonic()
        delivery = send_webhook(target(peer.url("/hook"), timeout=1.0), "msg_t", fixed_detection())
        elapsed = time.monotonic() - started
    assert (delivery.outcome, delivery.detail) == ("retry", "timed out after 1 s")
    assert elapsed < 2.5, elapsed
