"""The alert queue (a transactional outbox).

Rows are written in the same transaction as their detection, so an alert is never lost; a
sender claims rows with a lease before sending, so a crashed sender's rows come back after
the lease and are sent again under the same message id (at-least-once, receiver dedupes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from scraper.store.db import insert_ignore, utc
from scraper.store.records import Route, message_id
from scraper.store.schema import alerts, channel_state, detections

CLAIMABLE = ("pending", "failed", "sending")


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One queued alert as the dispatcher sees it."""

    id: int
    channel: str
    alert_key: str
    message_id: str
    detection_id: str
    status: str
    attempts: int
    digest: str | None
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    title: str = ""


def enqueue(conn: Connection, detection_id: str, routes: Sequence[Route], now: datetime) -> int:
    """One row per route; the unique (channel, alert_key) key makes re-queueing a no-op."""
    added = 0
    for route in routes:
        added += insert_ignore(
            conn,
            alerts,
            {
                "channel": route.channel,
                "alert_key": detection_id,
                "message_id": message_id(route.channel, detection_id),
                "detection_id": detection_id,
                "status": "pending",
                "digest": route.digest,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            },
        )
    return added


def claim(
    conn: Connection,
    *,
    now: datetime,
    owner: str,
    lease: float,
    limit: int = 50,
    channels: Sequence[str] | None = None,
    digest: bool = False,
) -> list[AlertRow]:
    """Take due rows for sending: pending, failed and due, or sending with an expired lease."""
    due = and_(
        alerts.c.status.in_(CLAIMABLE),
        alerts.c.next_attempt_at <= now,
        or_(alerts.c.claimed_until.is_(None), alerts.c.claimed_until < now),
        alerts.c.digest.isnot(None) if digest else alerts.c.digest.is_(None),
    )
    # Grouped by channel so a claimed batch reuses one connection (one SMTP session).
    order = (alerts.c.channel, alerts.c.next_attempt_at, alerts.c.id)
    stmt = select(alerts.c.id).where(due).order_by(*order)
    if channels is not None:
        stmt = stmt.where(alerts.c.channel.in_(list(channels)))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(conn.execute(stmt.limit(limit)).scalars())
    if not ids:
        return []
    conn.execute(
        update(alerts)
        .where(alerts.c.id.in_(ids))
        .values(
            status="sending",
            claimed_by=owner,
            claimed_until=now + timedelta(seconds=lease),
            attempts=alerts.c.attempts + 1,
            updated_at=now,
        )
    )
    return rows(conn, ids=ids)


def rows(
    conn: Connection,
    *,
    ids: Sequence[int] | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[AlertRow]:
    stmt = (
        select(alerts, detections.c.title)
        .join(detections, detections.c.id == alerts.c.detection_id)
        .order_by(alerts.c.id)
        .limit(limit)
    )
    if ids is not None:
        stmt = stmt.where(alerts.c.id.in_(list(ids)))
    if status:
        stmt = stmt.where(alerts.c.status == status)
    return [_row(r) for r in conn.execute(stmt).mappings()]


def _row(r: Any) -> AlertRow:
    return AlertRow(
        id=r["id"],
        channel=r["channel"],
        alert_key=r["alert_key"],
        message_id=r["message_id"],
        detection_id=r["detection_id"],
        status=r["status"],
        attempts=r["attempts"],
        digest=r["digest"],
        next_attempt_at=utc(r["next_attempt_at"]) or r["next_attempt_at"],
        last_error=r["last_error"],
        created_at=utc(r["created_at"]) or r["created_at"],
        delivered_at=utc(r["delivered_at"]),
        title=r["title"] or "",
    )


def _finish(conn: Connection, alert_id: int, owner: str | None, **values: Any) -> bool:
    """Update a claimed row; with an owner, only if that owner still holds it."""
    cond = alerts.c.id == alert_id
    if owner is not None:
        cond = and_(cond, alerts.c.claimed_by == owner, alerts.c.status == "sending")
    values.setdefault("claimed_by", None)
    values.setdefault("claimed_until", None)
    return bool(conn.execute(update(alerts).where(cond).values(**values)).rowcount)


def mark_delivered(
    conn: Connection, alert_id: int, now: datetime, owner: str | None = None
) -> bool:
    return _finish(
        conn, alert_id, owner, status="delivered", delivered_at=now, updated_at=now, last_error=None
    )


def mark_retry(
    conn: Connection,
    alert_id: int,
    now: datetime,
    next_at: datetime,
    error: str,
    *,
    owner: str | None = None,
) -> bool:
    return _finish(
        conn,
        alert_id,
        owner,
        status="failed",
        next_attempt_at=next_at,
        last_error=error[:1000],
        updated_at=now,
    )


def mark_dead(
    conn: Connection, alert_id: int, now: datetime, error: str, owner: str | None = None
) -> bool:
    return _finish(conn, alert_id, owner, status="dead", last_error=error[:1000], updated_at=now)


def release(conn: Connection, owner: str, now: datetime) -> int:
    """Give back rows claimed but not sent (clean shutdown): they go out on the next run."""
    res = conn.execute(
        update(alerts)
        .where(and_(alerts.c.claimed_by == owner, alerts.c.status == "sending"))
        .values(
            status="pending",
            claimed_by=None,
            claimed_until=None,
            updated_at=now,
            attempts=func.max(alerts.c.attempts - 1, 0)
            if conn.dialect.name == "sqlite"
            else func.greatest(alerts.c.attempts - 1, 0),
        )
    )
    return int(res.rowcount)


def requeue(conn: Connection, now: datetime, ids: Sequence[int] | None = None) -> int:
    """Failed and dead rows (or the ones named) go back to pending, due now."""
    cond = alerts.c.status.in_(("failed", "dead"))
    if ids:
        cond = alerts.c.id.in_(list(ids))
    res = conn.execute(
        update(alerts)
        .where(cond)
        .values(
            status="pending",
            next_attempt_at=now,
            attempts=0,
            claimed_by=None,
            claimed_until=None,
            updated_at=now,
        )
    )
    return int(res.rowcount)


def depth(conn: Connection) -> dict[str, int]:
    counts = {s: 0 for s in ("pending", "sending", "delivered", "failed", "dead")}
    for status, n in conn.execute(select(alerts.c.status, func.count()).group_by(alerts.c.status)):
        counts[status] = int(n)
    return counts


def last_digest(conn: Connection, channel: str) -> datetime | None:
    value = conn.execute(
        select(channel_state.c.last_digest_at).where(channel_state.c.name == channel)
    ).scalar()
    return utc(value)


def set_last_digest(conn: Connection, channel: str, slot: datetime, now: datetime) -> None:
    insert_ignore(conn, channel_state, {"name": channel, "updated_at": now})
    conn.execute(
        update(channel_state)
        .where(channel_state.c.name == channel)
        .values(last_digest_at=slot, updated_at=now)
    )
