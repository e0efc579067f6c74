"""Deliver queued alerts: claim with a lease, send, mark right after each answer, retry on the
Standard Webhooks schedule, give up (dead) at the end and tell the owner via a fallback channel.

A webhook endpoint answering 410 Gone is disabled (Standard Webhooks): its alerts stay queued
until `ofsted-watch alerts enable NAME`. Owner notices are queued rows too, so they are retried.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from scraper import failpoints
from scraper.clock import LONDON, utcnow
from scraper.models import AlertPayload, Delivery
from scraper.settings.config import Settings
from scraper.settings.schema import (
    Channel,
    EmailChannelConfig,
    WebhookChannelConfig,
)
from scraper.store import AlertRow, Notice, Store

if TYPE_CHECKING:  # the channel modules (SMTP, email rendering) load on the first send only
    from scraper.alerts.channels.email import SmtpTarget
    from scraper.alerts.channels.webhook import WebhookTarget

log = logging.getLogger(__name__)
# Standard Webhooks example schedule: delay before attempt n+1 after n failed attempts.
RETRY_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
RETRY_AFTER_CAP = 3600.0


def is_gone(delivery: Delivery) -> bool:
    """The endpoint answered 410 Gone. Delivery carries no status code, so this reads the
    webhook channel's detail, which always starts "HTTP <status>"."""
    return delivery.outcome == "rejected" and delivery.detail.startswith("HTTP 410")


def next_delay(
    attempts: int, retry_after: float | None, rand: Callable[[], float] = random.random
) -> float | None:
    """Seconds until the next attempt after `attempts` failures; None when it is time to give up."""
    if attempts >= len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempts] * (0.9 + 0.2 * rand())  # ±10 % jitter
    if retry_after is not None:
        base = max(base, min(retry_after, RETRY_AFTER_CAP))
    return base


@dataclass(frozen=True, slots=True)
class DispatchSummary:
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    def __add__(self, other: DispatchSummary) -> DispatchSummary:
        return DispatchSummary(
            self.delivered + other.delivered, self.retried + other.retried, self.dead + other.dead
        )


def webhook_target(ch: WebhookChannelConfig, user_agent: str) -> WebhookTarget:
    from scraper.alerts.channels.webhook import WebhookTarget

    return WebhookTarget(
        name=ch.name,
        url=ch.url,
        format=ch.format,
        secret=ch.secret.get_secret_value() if ch.secret else None,
        allow_private=ch.allow_private,
        timeout=ch.timeout,
        user_agent=user_agent,
    )


def smtp_target(ch: EmailChannelConfig) -> SmtpTarget:
    from scraper.alerts.channels.email import SmtpTarget

    return SmtpTarget(
        name=ch.name,
        host=ch.smtp_host,
        port=ch.smtp_port,
        security=ch.security,
        username=ch.username.get_secret_value() if ch.username else None,
        password=ch.password.get_secret_value() if ch.password else None,
        sender=ch.from_,
        to=tuple(ch.to),
        ca_file=ch.ca_file,
        timeout=ch.timeout,
        unsubscribe=ch.unsubscribe,
    )


class Dispatcher:
    """Sends what the queue holds. Safe to run in several processes: rows are leased."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        now: Callable[[], datetime] = utcnow,
        owner: str | None = None,
        lease: float | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.now = now
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease if lease is not None else settings.daemon.alert_lease.total_seconds()
        self.channels: dict[str, Channel] = {c.name: c for c in settings.channels}
        self.disabled: set[str] = set()  # channels disabled by a 410, refreshed per claim

    def claim_size(self) -> int:
        """Rows per claim, so that a claimed batch is sent well within its lease even when
        every send runs to its timeout (else another dispatcher would re-send them)."""
        worst = max((ch.timeout for ch in self.channels.values()), default=30.0)
        return max(1, min(100, int(self.lease / (2 * worst))))

    def dispatch_due(self, limit: int | None = None) -> DispatchSummary:
        """Send every due, non-digest alert; returns counts by outcome."""
        total = DispatchSummary()
        limit = limit or self.claim_size()
        while True:
            self.disabled = {d.name for d in self.store.disabled_channels()}
            live = [name for name in self.channels if name not in self.disabled]
            if not live:
                return total
            rows = self.store.claim_alerts(
                now=self.now(), owner=self.owner, lease=self.lease, limit=limit, channels=live
            )
            if not rows:
                return total
            failpoints.hit("after_claim")
            sent = DispatchSummary()
            for name in dict.fromkeys(r.channel for r in rows):
                batch = [r for r in rows if r.channel == name]
                sent += self._send_batch(self.channels[name], batch)
            total += sent
            if len(rows) < limit and not sent.dead:  # a dead alert may have queued a notice
                return total

    def _send_batch(self, channel: Channel, rows: Sequence[AlertRow]) -> DispatchSummary:
        from scraper.alerts.channels.email import SmtpSession, build_message
        from scraper.alerts.channels.webhook import WebhookTarget, send_webhook

        try:
            target = self._target(channel)
        except ValueError as exc:  # config passed validation but the channel cannot be used
            broken = Delivery("retry", f"channel {channel.name} is misconfigured: {exc}")
            return sum((self._settle(r, broken) for r in rows), DispatchSummary())
        if isinstance(target, WebhookTarget):
            return self._each(
                rows, lambda row, data: send_webhook(target, row.message_id, data, now=self.now)
            )
        with SmtpSession(target) as session:
            return self._each(
                rows,
                lambda row, data: session.send(
                    build_message(target, row.message_id, [data], now=self.now())
                ),
            )

    def _target(self, channel: Channel) -> WebhookTarget | SmtpTarget:
        """The sending target; ValueError (never quoting a secret) when it cannot be built."""
        if isinstance(channel, WebhookChannelConfig):
            return webhook_target(channel, self.settings.http.user_agent)
        return smtp_target(channel)

    def _each(
        self, rows: Sequence[AlertRow], send: Callable[[AlertRow, AlertPayload], Delivery]
    ) -> DispatchSummary:
        total = DispatchSummary()
        held: list[int] = []
        for row in rows:
            if row.channel in self.disabled:  # a 410 earlier in this batch
                held.append(row.id)
                continue
            data = row.notice or self.store.payload(row.detection_id)
            if data is None:  # pragma: no cover - foreign key makes this impossible
                continue
            failpoints.hit("before_send")
            delivery = send(row, data)
            failpoints.hit("after_send")
            total += self._settle(row, delivery)
        if held:
            self.store.unclaim_alerts(self.owner, self.now(), held)
        return total

    def _settle(self, row: AlertRow, delivery: Delivery, *, tell: bool = True) -> DispatchSummary:
        """Record one answer straight away, so a crash re-sends at most this one alert."""
        now = self.now()
        if delivery.outcome == "delivered":
            self.store.mark_delivered(row.id, now, self.owner)
            log.info(
                "alert id=%d channel=%s status=delivered attempts=%d",
                row.id,
                row.channel,
                row.attempts,
            )
            return DispatchSummary(delivered=1)
        delay = (
            None
            if delivery.outcome == "rejected"
            else next_delay(row.attempts, delivery.retry_after)
        )
        if delay is None:
            return self._bury(row, delivery, tell=tell)
        self.store.mark_retry(
            row.id, now, now + timedelta(seconds=delay), delivery.detail, self.owner
        )
        log.warning(
            "alert id=%d channel=%s status=failed attempts=%d retry_in=%.0fs error=%s",
            row.id,
            row.channel,
            row.attempts,
            delay,
            delivery.detail,
        )
        return DispatchSummary(retried=1)

    def _bury(self, row: AlertRow, delivery: Delivery, *, tell: bool) -> DispatchSummary:
        """Give up on an alert; a 410 Gone from a webhook also disables its channel."""
        detail = delivery.detail
        if is_gone(delivery) and isinstance(self.channels.get(row.channel), WebhookChannelConfig):
            return self._disable(row, detail)
        notice = self._dead_notice(row, detail) if tell else None
        self.store.bury_alert(row.id, self.now(), detail, self.owner, notice=notice)
        log.error(
            "alert id=%d channel=%s status=dead attempts=%d error=%s",
            row.id,
            row.channel,
            row.attempts,
            detail,
        )
        if notice is not None:
            log.info("alert id=%d owner notice queued via=%s", row.id, notice.channel)
        return DispatchSummary(dead=1)

    def _disable(self, row: AlertRow, detail: str) -> DispatchSummary:
        """410 Gone: the alert is dead, the channel disabled and its owner told, at once."""
        now = self.now()
        notice = self._notice(
            row,
            key=f"disabled:{row.channel}:{now:%Y%m%dT%H%M%S}",
            kind="channel_disabled",
            title=f"ofsted-watch disabled the channel {row.channel}",
            summary=f"The endpoint answered 410 Gone. Alerts for it are held until "
            f"`ofsted-watch alerts enable {row.channel}`.",
        )
        newly = self.store.bury_alert(
            row.id, now, detail, self.owner, notice=notice, disable=row.channel
        )
        self.disabled.add(row.channel)
        log.warning("alert id=%d channel=%s status=dead error=%s", row.id, row.channel, detail)
        if newly:
            log.error(
                "channel=%s disabled: the endpoint answered 410 Gone; its alerts are held "
                "until `ofsted-watch alerts enable %s`%s",
                row.channel,
                row.channel,
                f"; owner told via {notice.channel}" if notice else "",
            )
        return DispatchSummary(dead=1)

    def _dead_notice(self, row: AlertRow, detail: str) -> Notice | None:
        return self._notice(
            row,
            key=f"dead:{row.message_id}",
            kind="alert_failed",
            title=f"ofsted-watch could not deliver an alert to {row.channel}",
            summary=f"Gave up after {row.attempts} attempts: {detail}",
        )

    def _notice(
        self, row: AlertRow, *, key: str, kind: str, title: str, summary: str
    ) -> Notice | None:
        """A notice for the channel's `fallback`, if it names one. A failed notice is not
        itself reported, so two channels that fall back to each other cannot loop."""
        channel = self.channels.get(row.channel)
        fallback = self.channels.get(channel.fallback) if channel and channel.fallback else None
        if fallback is None or row.notice is not None:
            return None
        return Notice(
            fallback.name,
            key,
            row.detection_id,
            notice_payload(key, kind, title, summary, self.now()),
        )

    def send_direct(self, channel: Channel, message_id: str, data: AlertPayload) -> Delivery:
        """Send one message now, outside the queue (`alerts test NAME`)."""
        from scraper.alerts.channels.email import SmtpSession, build_message
        from scraper.alerts.channels.webhook import WebhookTarget, send_webhook

        try:
            target = self._target(channel)
        except ValueError as exc:
            return Delivery("rejected", f"channel {channel.name} is misconfigured: {exc}")
        if isinstance(target, WebhookTarget):
            return send_webhook(target, message_id, data, now=self.now)
        with SmtpSession(target) as session:
            return session.send(build_message(target, message_id, [data], now=self.now()))

    # -- digests -----------------------------------------------------------------------------
    def dispatch_digests(self) -> DispatchSummary:
        """Send each digest channel's gathered alerts once its slot (Europe/London) has come."""
        total = DispatchSummary()
        for ch in self.channels.values():
            if isinstance(ch, EmailChannelConfig) and ch.digest != "off":
                total += self._digest(ch)
        # A digest given up queued a notice for its owner: send it now, not on the next run.
        return total + self.dispatch_due() if total.dead else total

    def _digest(self, ch: EmailChannelConfig) -> DispatchSummary:
        now = self.now()
        slot = digest_slot(ch.digest, ch.digest_at, now)
        last = self.store.last_digest(ch.name)
        if (last is not None and last >= slot) or not self._gathered_before(ch.name, slot):
            return DispatchSummary()
        rows = self.store.claim_alerts(
            now=now, owner=self.owner, lease=self.lease, limit=500, channels=[ch.name], digest=True
        )
        if not rows:
            return DispatchSummary()
        items = [d for d in (self.store.payload(r.detection_id) for r in rows) if d]
        msg_id = f"digest_{ch.name}_{slot.strftime('%Y%m%dT%H%M')}"
        failpoints.hit("before_send")
        delivery = self._send_digest(ch, msg_id, items, now)
        failpoints.hit("after_send")
        total = DispatchSummary()
        for row in rows:  # one notice for the whole digest (with its first dead row)
            total += self._settle(row, delivery, tell=not total.dead)
        if delivery.outcome == "delivered":
            self.store.set_last_digest(ch.name, slot, now)
        return total

    def _send_digest(
        self, ch: EmailChannelConfig, msg_id: str, items: list[AlertPayload], now: datetime
    ) -> Delivery:
        from scraper.alerts.channels.email import SmtpSession, build_message

        try:
            target = smtp_target(ch)
        except ValueError as exc:
            return Delivery("retry", f"channel {ch.name} is misconfigured: {exc}")
        with SmtpSession(target) as session:
            return session.send(build_message(target, msg_id, items, digest=ch.digest, now=now))

    def _gathered_before(self, channel: str, slot: datetime) -> bool:
        """A digest is due once a slot has passed since its oldest unsent item was queued, so
        an item queued at 09:00 waits for tomorrow's 08:00 slot instead of going out at once."""
        return any(
            row.channel == channel and row.digest is not None and row.created_at <= slot
            for status in ("pending", "failed", "sending")
            for row in self.store.alerts(status=status)
        )

    def release(self) -> int:
        """Hand back claimed-but-unsent rows (clean shutdown)."""
        return self.store.release_alerts(self.owner, self.now())


def digest_slot(period: str, at: str, now: datetime) -> datetime:
    """The latest scheduled digest time at or before `now` (daily, or Mondays for weekly)."""
    local = now.astimezone(LONDON)
    hh, mm = (int(x) for x in at.split(":"))
    slot = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=1)
    if period == "weekly":
        slot -= timedelta(days=slot.weekday())
    return slot.astimezone(UTC)


def notice_payload(key: str, kind: str, title: str, summary: str, now: datetime) -> AlertPayload:
    """An owner notice as a payload: about ofsted-watch itself, so no council, type or link."""
    return AlertPayload(
        id=key,
        kind=kind,
        report_type=None,
        councils=[],
        title=title,
        url=None,
        published=None,
        visit_dates=[],
        judgement=None,
        source="ofsted-watch",
        summary=summary,
        first_seen=now,
    )
