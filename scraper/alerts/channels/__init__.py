"""The only code that sends: webhook and email channels, and the webhook body formats.

`CHANNEL_TYPES` maps a config `type` to its target class; `FORMATS` maps a webhook `format`
to its renderer. Both are plain dicts so the set of kinds is visible in one place.
"""

from __future__ import annotations

from datetime import datetime

from scraper.alerts.channels.email import SmtpSession, SmtpTarget, build_message, test_message
from scraper.alerts.channels.formats import FORMATS, render, sample_detection
from scraper.alerts.channels.signing import generate_secret, sign
from scraper.alerts.channels.webhook import WebhookTarget, send_webhook
from scraper.models import Delivery

CHANNEL_TYPES: dict[str, type[WebhookTarget] | type[SmtpTarget]] = {
    "webhook": WebhookTarget,
    "email": SmtpTarget,
}


def send_test(target: WebhookTarget | SmtpTarget, now: datetime) -> Delivery:
    """`alerts test NAME`: one harmless test detection through one channel, right now."""
    data = sample_detection(now)
    if isinstance(target, WebhookTarget):
        return send_webhook(
            target, f"msg_{data.id}", data, occurred=now, event_type="detection.test"
        )
    with SmtpSession(target) as session:
        return session.send(test_message(target, now))


__all__ = [
    "CHANNEL_TYPES",
    "FORMATS",
    "Delivery",
    "SmtpSession",
    "SmtpTarget",
    "WebhookTarget",
    "build_message",
    "generate_secret",
    "render",
    "sample_detection",
    "send_test",
    "send_webhook",
    "sign",
    "test_message",
]
