"""Digests: a digest email channel's gathered alerts, sent once per slot (Europe/London).

The rows wait in the queue marked with their digest period; at the slot they are claimed
together, sent as one email, and settled together (one owner notice if the digest is given up).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scraper import failpoints
from scraper.alerts.channels import Channel, SmtpTarget
from scraper.alerts.delivery import DispatchSummary, Settler
from scraper.clock import LONDON
from scraper.models import AlertPayload, Delivery

DIGEST_CLAIM = 500  # rows in one digest email


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


def send_digest(channel: Channel, settler: Settler, lease: float) -> DispatchSummary:
    """Send this channel's digest if its slot has come and something was gathered before it."""
    store, now = settler.store, settler.now()
    if channel.digest is None or not isinstance(channel.target, SmtpTarget):
        return DispatchSummary()
    slot = digest_slot(channel.digest, channel.digest_at, now)
    last = store.last_digest(channel.name)
    if (last is not None and last >= slot) or not _gathered_before(settler, channel.name, slot):
        return DispatchSummary()
    rows = store.claim_alerts(
        now=now,
        owner=settler.owner,
        lease=lease,
        limit=DIGEST_CLAIM,
        channels=[channel.name],
        digest=True,
    )
    if not rows:
        return DispatchSummary()
    items = [d for d in (store.payload(r.detection_id) for r in rows) if d]
    msg_id = f"digest_{channel.name}_{slot.strftime('%Y%m%dT%H%M')}"
    failpoints.hit("before_send")
    delivery = _send(channel.target, msg_id, items, channel.digest, now)
    failpoints.hit("after_send")
    total = DispatchSummary()
    for row in rows:  # one notice for the whole digest (with its first dead row)
        total += settler.settle(row, delivery, tell=not total.dead)
    if delivery.outcome == "delivered":
        store.set_last_digest(channel.name, slot, now)
    return total


def _send(
    target: SmtpTarget, msg_id: str, items: list[AlertPayload], digest: str, now: datetime
) -> Delivery:
    from scraper.alerts.channels.email import SmtpSession, build_message

    with SmtpSession(target) as session:
        return session.send(build_message(target, msg_id, items, digest=digest, now=now))


def _gathered_before(settler: Settler, channel: str, slot: datetime) -> bool:
    """A digest is due once a slot has passed since its oldest unsent item was queued, so
    an item queued at 09:00 waits for tomorrow's 08:00 slot instead of going out at once."""
    return any(
        row.channel == channel and row.digest is not None and row.created_at <= slot
        for status in ("pending", "failed", "sending")
        for row in settler.store.alerts(status=status)
    )
