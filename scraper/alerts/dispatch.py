"""The dispatcher: sends what the queue holds, every channel at once, each within its own budget.

Rows are claimed with a lease, so several processes may dispatch safely. Each channel runs in its
own thread with its own time budget per dispatch, so a webhook or SMTP peer that trickles (or
hangs until its timeout) delays only its own channel's alerts. Delivery, digests and owner
notices live in their own modules; this one schedules them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from scraper import failpoints
from scraper.alerts.channels import Channel
from scraper.alerts.delivery import (
    RETRY_AFTER_CAP,
    RETRY_SCHEDULE,
    DispatchSummary,
    Settler,
    is_gone,
    next_delay,
    send_rows,
)
from scraper.alerts.digests import digest_slot, send_digest
from scraper.alerts.notices import notice_payload
from scraper.clock import Clock, utcnow
from scraper.models import AlertPayload, Delivery
from scraper.settings.config import Settings
from scraper.store import Store

log = logging.getLogger(__name__)
NOTICE_ROUNDS = 3  # a dead alert queues a notice on another channel: send it in this dispatch
TEST_TIMEOUT = 10.0  # seconds: `alerts test` waits no longer than this for any channel
FINISH_ROUNDS = 10  # retries a one-off fetch waits for, at most

__all__ = [
    "RETRY_AFTER_CAP",
    "RETRY_SCHEDULE",
    "DispatchSummary",
    "Dispatcher",
    "digest_slot",
    "is_gone",
    "next_delay",
    "notice_payload",
]


class Dispatcher:
    """Sends what the queue holds. Safe to run in several processes: rows are leased."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        now: Clock = utcnow,
        owner: str | None = None,
        lease: float | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.now = now
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease if lease is not None else settings.daemon.alert_lease.total_seconds()
        self.channels: dict[str, Channel] = {c.name: c for c in settings.alert_channels}
        self.settler = Settler(store, self.channels, self.owner, now)

    @property
    def disabled(self) -> set[str]:
        return self.settler.disabled

    def claim_size(self, channel: Channel | None = None) -> int:
        """Rows per claim, so that a claimed batch is sent well within its lease even when
        every send runs to its timeout (else another dispatcher would re-send them)."""
        chans = [channel] if channel else list(self.channels.values())
        worst = max((ch.timeout for ch in chans), default=30.0)
        return max(1, min(100, int(self.lease / (2 * worst))))

    def budget(self, channel: Channel) -> float:
        """Seconds one channel may spend per dispatch: half the lease, and at least two sends."""
        return max(self.lease / 2, 2 * channel.timeout)

    def dispatch_due(self, limit: int | None = None) -> DispatchSummary:
        """Send every due, non-digest alert, channels concurrently; counts by outcome."""
        total = DispatchSummary()
        for _ in range(NOTICE_ROUNDS):
            sent = self._round(limit)
            total += sent
            if not sent.dead:  # a dead alert may have queued a notice on another channel
                break
        return total

    def _round(self, limit: int | None) -> DispatchSummary:
        self.settler.disabled.clear()
        self.settler.disabled.update(d.name for d in self.store.disabled_channels())
        live = [ch for ch in self.channels.values() if ch.name not in self.settler.disabled]
        if not live:
            return DispatchSummary()
        start = time.monotonic()
        with ThreadPoolExecutor(len(live), thread_name_prefix="alerts") as pool:
            futures = [pool.submit(self._drain, ch, limit, start) for ch in live]
            return sum((f.result() for f in futures), DispatchSummary())

    def _drain(self, channel: Channel, limit: int | None, start: float) -> DispatchSummary:
        """One channel's due rows, claim by claim, until none are left or its budget is spent."""
        until = start + self.budget(channel)
        size = limit or self.claim_size(channel)
        total = DispatchSummary()
        while channel.name not in self.settler.disabled and time.monotonic() < until:
            rows = self.store.claim_alerts(
                now=self.now(),
                owner=self.owner,
                lease=self.lease,
                limit=size,
                channels=[channel.name],
            )
            if not rows:
                break
            failpoints.hit("after_claim")
            total += send_rows(channel, rows, self.settler, until=until)
            if len(rows) < size:
                break
        return total

    def dispatch_digests(self) -> DispatchSummary:
        """Send each digest channel's gathered alerts once its slot (Europe/London) has come,
        each digest channel in its own thread, like the alerts, so one slow relay stalls none."""
        digests = [ch for ch in self.channels.values() if ch.digest is not None]
        if not digests:
            return DispatchSummary()
        with ThreadPoolExecutor(len(digests), thread_name_prefix="digests") as pool:
            futures = [pool.submit(send_digest, ch, self.settler, self.lease) for ch in digests]
            total = sum((f.result() for f in futures), DispatchSummary())
        # A digest given up queued a notice for its owner: send it now, not on the next run.
        return total + self.dispatch_due() if total.dead else total

    def finish(
        self, within: float, sleep: Callable[[float], None] = time.sleep
    ) -> tuple[DispatchSummary, datetime | None]:
        """Dispatch, then wait for retries falling due within `within` seconds and send them
        (a one-off `fetch`); returns the counts and when the first alert left queued is due."""
        total = self.dispatch_due()
        for _ in range(FINISH_ROUNDS):
            live = [n for n in self.channels if n not in self.settler.disabled]
            due = self.store.next_retry_at(live)
            if due is None or (due - self.now()).total_seconds() > within:
                return total, due
            wait = max((due - self.now()).total_seconds(), 0.0)
            log.info("alert retry due in %.1fs; waiting for it before exit", wait)
            sleep(wait)
            sent = self.dispatch_due()
            # A row retried again is still one retried row; one settled now is no longer.
            retried = max(0, total.retried - sent.delivered - sent.dead)
            total = DispatchSummary(
                total.delivered + sent.delivered, retried, total.dead + sent.dead
            )
        return total, self.store.next_retry_at(list(self.channels))

    def send_direct(
        self, channel: Channel, message_id: str, data: AlertPayload, *, test: bool = False
    ) -> Delivery:
        """Send one message now, outside the queue (`alerts test NAME`)."""
        if test:  # a wrong host or port should fail in seconds, not after the full timeout
            return channel.capped(TEST_TIMEOUT).send_now(
                message_id, data, now=self.now, event_type="detection.test"
            )
        return channel.send_now(message_id, data, now=self.now, event_type="detection.created")

    def release(self) -> int:
        """Hand back claimed-but-unsent rows (clean shutdown)."""
        return self.store.release_alerts(self.owner, self.now())
