"""Delivery: claim -> send -> settle, one channel at a time per thread.

Each answer is recorded right after it arrives, so a crash re-sends at most one alert (under the
same id). Retries follow the Standard Webhooks schedule; the last failure buries the alert and
tells the channel's owner; a webhook answering 410 Gone disables its channel.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from scraper import failpoints
from scraper.alerts.channels import Channel, WebhookTarget, send_webhook
from scraper.alerts.notices import dead_notice, disabled_notice
from scraper.clock import Clock
from scraper.models import AlertPayload, Delivery
from scraper.store import AlertRow, Store

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

    @property
    def all_failed(self) -> bool:
        """Something was attempted and nothing got through."""
        return self.delivered == 0 and (self.retried + self.dead) > 0


@dataclass
class Settler:
    """Records each answer in the queue; shared by the channel threads of one dispatcher."""

    store: Store
    channels: Mapping[str, Channel]
    owner: str
    now: Clock
    disabled: set[str] = field(default_factory=set)  # disabled by a 410 during this dispatch

    def settle(self, row: AlertRow, delivery: Delivery, *, tell: bool = True) -> DispatchSummary:
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
        rejected = delivery.outcome == "rejected"
        delay = None if rejected else next_delay(row.attempts, delivery.retry_after)
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
        channel = self.channels.get(row.channel)
        if is_gone(delivery) and channel and isinstance(channel.target, WebhookTarget):
            return self._disable(row, detail)
        notice = dead_notice(self.channels, row, detail, self.now()) if tell else None
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
        notice = disabled_notice(self.channels, row, now)
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


def send_rows(
    channel: Channel, rows: Sequence[AlertRow], settler: Settler, *, until: float
) -> DispatchSummary:
    """Send one channel's claimed rows (one SMTP session for the batch) while its time budget
    (`until`, monotonic) lasts; rows it cannot start in time are handed back unsent."""
    target = channel.target
    if isinstance(target, WebhookTarget):
        return _each(
            channel,
            rows,
            settler,
            until,
            lambda row, data: send_webhook(target, row.message_id, data, now=settler.now),
        )
    from scraper.alerts.channels.email import SmtpSession, build_message

    with SmtpSession(target) as session:
        return _each(
            channel,
            rows,
            settler,
            until,
            lambda row, data: session.send(
                build_message(target, row.message_id, [data], now=settler.now())
            ),
        )


def _each(
    channel: Channel,
    rows: Sequence[AlertRow],
    settler: Settler,
    until: float,
    send: Callable[[AlertRow, AlertPayload], Delivery],
) -> DispatchSummary:
    total = DispatchSummary()
    held: list[int] = []
    for row in rows:
        # A 410 earlier in this batch, or no time left for a whole send: hand the row back.
        if row.channel in settler.disabled or time.monotonic() + channel.timeout > until:
            held.append(row.id)
            continue
        data = row.notice or settler.store.payload(row.detection_id)
        if data is None:  # pragma: no cover - foreign key makes this impossible
            continue
        failpoints.hit("before_send")
        delivery = send(row, data)
        failpoints.hit("after_send")
        # Channels send concurrently, so "the n-th send" is only well defined per channel type.
        failpoints.hit(f"after_{channel.type}_send")
        total += settler.settle(row, delivery)
    if held:
        settler.store.unclaim_alerts(settler.owner, settler.now(), held)
    return total
