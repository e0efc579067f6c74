"""Webhook channel: POST one signed body, never follow redirects, refuse internal addresses.

The outcome is a `Delivery` value; the dispatcher owns retries and backoff. The URL of a Slack,
Teams or Discord webhook is itself a credential, so logs and details name only its host.
Every format gets the Standard Webhooks headers, signed when a secret is set: chat services
ignore them, and a relay or proxy in front of them can verify.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests
import urllib3
from requests_hardened import Config, HTTPSession  # no py.typed
from requests_hardened.ip_filter import InvalidIPAddress

from scraper.alerts.channels.deadline import Deadline
from scraper.alerts.channels.formats import FORMATS, clean, redact, render
from scraper.alerts.channels.signing import decode_secret, hub_signature, sign, split_secrets
from scraper.clock import utcnow
from scraper.httputil import retry_after_seconds
from scraper.models import AlertPayload, Delivery

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of a receiver's answer
SNIPPET_CHARS = 500
RETRY_AFTER_CAP = 3600.0  # seconds; reliability requirement 8
RETRY_STATUSES = (408, 429)


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """One `type = "webhook"` channel. `secret` is whsec_<base64>; several, space-separated."""

    name: str
    url: str = field(repr=False)  # chat webhook URLs carry their token in the path
    format: str = "json"
    secret: str | None = field(default=None, repr=False)
    allow_private: bool = False
    timeout: float = 15.0
    user_agent: str = "ofsted-watch"
    hub_signature: bool = False  # also send GitHub-style X-Hub-Signature-256

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise ValueError(f"alert {self.name}: unknown format {self.format!r} ({known})")
        if self.secret is not None:
            for one in split_secrets(self.secret):
                decode_secret(one)  # raises SecretError, which never quotes the secret
        if self.timeout <= 0:
            raise ValueError(f"alert {self.name}: timeout must be positive")

    @property
    def host(self) -> str:
        """Host of the URL: safe to log, unlike the path."""
        return urlsplit(self.url).hostname or "?"


def build_headers(
    target: WebhookTarget, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Standard Webhooks headers for one attempt; the signature covers these exact bytes."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": clean(target.user_agent) or "ofsted-watch",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "Idempotency-Key": message_id,
    }
    if target.secret:
        headers["webhook-signature"] = sign(target.secret, message_id, timestamp, body)
        if target.hub_signature:
            headers["X-Hub-Signature-256"] = hub_signature(target.secret, body)
    return headers


def send_webhook(
    target: WebhookTarget,
    message_id: str,
    data: AlertPayload,
    *,
    now: Callable[[], datetime] = utcnow,
    event_type: str = "detection.created",
    occurred: datetime | None = None,
) -> Delivery:
    """One delivery attempt. The body's timestamp is when the event happened (`occurred`, else
    data.first_seen), so retries resend identical bytes; `webhook-timestamp` is this attempt."""
    refusal = _refuse_url(target.url)
    if refusal:
        return _finish(target, Delivery("rejected", refusal))
    message_id = clean(message_id)
    moment = occurred or data.first_seen
    body = render(target.format, data, event_type=event_type, timestamp=moment)
    headers = build_headers(target, message_id, int(now().timestamp()), body)
    return _finish(target, _post(target, body, headers, now))


def _post(
    target: WebhookTarget, body: bytes, headers: dict[str, str], now: Callable[[], datetime]
) -> Delivery:
    """POST within `timeout` seconds in all: a peer trickling its answer is cut at the limit."""
    with Deadline(target.timeout) as limit:
        try:
            return _exchange(target, body, headers, now, limit)
        except requests.RequestException as exc:
            if limit.expired:
                return Delivery("retry", f"timed out after {target.timeout:g} s")
            return _failed(target, exc)


def _exchange(
    target: WebhookTarget,
    body: bytes,
    headers: dict[str, str],
    now: Callable[[], datetime],
    limit: Deadline,
) -> Delivery:
    started = time.monotonic()
    with _session(target) as session:
        response = session.post(
            target.url,
            data=body,
            headers=headers,
            timeout=(target.timeout, target.timeout),
            allow_redirects=False,
            stream=True,
        )
        with response:
            delivery = judge(response, now(), deadline=started + target.timeout)
            limit.close()  # before the session closes its sockets
            return delivery


def _failed(target: WebhookTarget, exc: requests.RequestException) -> Delivery:
    if isinstance(exc, InvalidIPAddress):
        return Delivery(
            "rejected",
            f"refused: {target.host} resolves to internal address {exc} "
            "(loopback, private, link-local, CGNAT or unspecified); "
            "set allow_private = true to allow it",
        )
    if isinstance(exc, requests.Timeout):
        return Delivery("retry", f"timed out after {target.timeout:g} s")
    if isinstance(exc, requests.ConnectionError):
        return Delivery("retry", f"connection failed: {_describe(exc, target)}")
    return Delivery("rejected", f"request refused: {_describe(exc, target)}")


def _session(target: WebhookTarget) -> requests.Session:
    """A hardened session: IP filter pinned per connection (unless allowed), no redirects.

    trust_env is off so proxy variables and ~/.netrc cannot redirect or decorate our POSTs."""
    config = Config(
        ip_filter_enable=not target.allow_private,
        ip_filter_allow_loopback_ips=False,
        never_redirect=True,
        default_timeout=(target.timeout, target.timeout),
    )
    session: requests.Session = HTTPSession(config)
    session.trust_env = False
    return session


def judge(response: requests.Response, now: datetime, *, deadline: float) -> Delivery:
    """What a receiver's status means for the dispatcher (Standard Webhooks delivery rules)."""
    status = response.status_code
    if 200 <= status < 300:
        return Delivery("delivered", f"HTTP {status}")
    if 300 <= status < 400:
        return Delivery("retry", f"HTTP {status}: redirect not followed; fix the URL")
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    if status == 410:
        return Delivery("rejected", "HTTP 410: endpoint gone; disable or fix this channel")
    if 400 <= status < 500 and status not in RETRY_STATUSES:
        return Delivery("rejected", f"HTTP {status}: {read_snippet(response, deadline)}")
    return Delivery("retry", f"HTTP {status}", retry_after=retry_after)


def read_snippet(response: requests.Response, deadline: float) -> str:
    """Start of the response body as one line: ≤ 64 KiB read, ≤ 500 characters kept."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
            chunk = response.raw.read1(MAX_RESPONSE_BYTES - size, decode_content=True)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, urllib3.exceptions.HTTPError):  # a broken error body must not hide the status
        log.debug("could not read the response body", exc_info=True)
    text = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
    return clean(text, SNIPPET_CHARS) or "(empty body)"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds (delta-seconds or HTTP-date), clamped to [0, 1 h]."""
    seconds = retry_after_seconds(value, now)
    return None if seconds is None else min(seconds, RETRY_AFTER_CAP)


def _refuse_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"refused: scheme {parts.scheme or '(none)'!r} is not http or https"
    if not parts.hostname:
        return "refused: the URL has no host"
    return None


def _describe(exc: BaseException, target: WebhookTarget) -> str:
    """Exception text without the URL path or query, which may hold a token."""
    parts = urlsplit(target.url)
    text = str(exc)
    for secret_part in (target.url, parts.path + ("?" + parts.query if parts.query else "")):
        if len(secret_part) > 1:
            text = text.replace(secret_part, "/…")
    return clean(redact(text, target.secret), SNIPPET_CHARS) or type(exc).__name__


def _finish(target: WebhookTarget, delivery: Delivery) -> Delivery:
    delivery = Delivery(
        delivery.outcome, redact(delivery.detail, target.secret), delivery.retry_after
    )
    log.info(
        "webhook attempt channel=%s host=%s outcome=%s detail=%s",
        target.name,
        target.host,
        delivery.outcome,
        delivery.detail,
    )
    return delivery
