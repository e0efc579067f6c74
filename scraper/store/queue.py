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

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from scraper.models import AlertPayload
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
    detection_id: str | None  # None for an operational notice (a source failing)
    status: str
    attempts: int
    digest: str | None
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    title: str = ""
    notice: AlertPayload | None = None  # an owner notice's body (sent instead of a detection)


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to a channel's owner, queued like an alert so that it is retried on the same
    schedule and, through the unique (channel, alert_key), sent once however often it is asked."""

    channel: str
    key: str  # e.g. "dead:<message_id>"
    detection_id: str | None  # the detection behind it; None for a source-health notice
    data: AlertPayload


@dataclass(frozen=True, slots=True)
class DisabledChannel:
    """A channel whose endpoint said it is gone (410): nothing is claimed for it."""

    name: str
    since: datetime
    reason: str


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


def enqueue_notice(conn: Connection, notice: Notice, now: datetime) -> bool:
    """Queue an owner notice; False when the same notice is already queued (sent once)."""
    return insert_ignore(
        conn,
        alerts,
        {
            "channel": notice.channel,
            "alert_key": notice.key[:200],
            "message_id": message_id(notice.channel, notice.key),
            "detection_id": notice.detection_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "notice": notice.data.data(),
        },
    )


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
        .outerjoin(detections, detections.c.id == alerts.c.detection_id)
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
        title=(r["notice"] or {}).get("title") or r["title"] or "",  # a notice shows its cause
        notice=AlertPayload.model_validate(r["notice"]) if r["notice"] else None,
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


def release(conn: Connection, owner: str, now: datetime, ids: Sequence[int] | None = None) -> int:
    """Give back rows claimed but not sent (clean shutdown, or their channel was just
    disabled): they go out on a later run, the unused attempt not counted."""
    cond: ColumnElement[bool] = and_(alerts.c.claimed_by == owner, alerts.c.status == "sending")
    if ids is not None:
        cond = and_(cond, alerts.c.id.in_(list(ids)))
    res = conn.execute(
        update(alerts)
        .where(cond)
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


def next_retry_at(conn: Connection, channels: Sequence[str]) -> datetime | None:
    """When the next non-digest alert on these channels falls due (None: nothing waiting)."""
    stmt = select(func.min(alerts.c.next_attempt_at)).where(
        alerts.c.status.in_(("pending", "failed")),
        alerts.c.digest.is_(None),
        alerts.c.channel.in_(list(channels)),
    )
    return utc(conn.execute(stmt).scalar())


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


def disable_channel(conn: Connection, name: str, now: datetime, reason: str) -> bool:
    """Mark a channel disabled; True only for the call that disabled it (so it is told once)."""
    insert_ignore(conn, channel_state, {"name": name, "updated_at": now})
    res = conn.execute(
        update(channel_state)
        .where(and_(channel_state.c.name == name, channel_state.c.disabled_at.is_(None)))
        .values(disabled_at=now, disabled_reason=reason[:1000], updated_at=now)
    )
    return bool(res.rowcount)


def enable_channels(
    conn: Connection, now: datetime, names: Sequence[str] | None = None
) -> dict[str, int]:
    """Re-enable the disabled channels named (all when None). The alert that met the 410 went
    dead as the channel was disabled; it is requeued too. Returns name -> alerts requeued."""
    cond: ColumnElement[bool] = channel_state.c.disabled_at.isnot(None)
    if names is not None:
        cond = and_(cond, channel_state.c.name.in_(list(names)))
    found = conn.execute(select(channel_state.c.name, channel_state.c.disabled_at).where(cond))
    out: dict[str, int] = {}
    for name, since in list(found):
        died = and_(
            alerts.c.channel == name, alerts.c.status == "dead", alerts.c.updated_at >= since
        )
        ids = list(conn.execute(select(alerts.c.id).where(died)).scalars())
        out[name] = requeue(conn, now, ids) if ids else 0
        conn.execute(
            update(channel_state)
            .where(channel_state.c.name == name)
            .values(disabled_at=None, disabled_reason=None, updated_at=now)
        )
    return out


def disabled_channels(conn: Connection) -> list[DisabledChannel]:
    stmt = (
        select(channel_state.c.name, channel_state.c.disabled_at, channel_state.c.disabled_reason)
        .where(channel_state.c.disabled_at.isnot(None))
        .order_by(channel_state.c.name)
    )
    rows_ = conn.execute(stmt).all()
    return [DisabledChannel(name, utc(at) or at, reason or "") for name, at, reason in rows_]
