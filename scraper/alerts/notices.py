"""Owner notices: telling a channel's `fallback` that an alert was given up or a channel disabled.

A notice is a queued alert row carrying its own payload, so it is retried on the same schedule and,
through the unique (channel, alert_key), sent once however often it is asked for. A failed notice
is not itself reported, so two channels that fall back to each other cannot loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from scraper.alerts.channels import Channel
from scraper.models import AlertPayload
from scraper.store import AlertRow, Notice


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


def _notice(
    channels: Mapping[str, Channel],
    row: AlertRow,
    *,
    key: str,
    kind: str,
    title: str,
    summary: str,
    now: datetime,
) -> Notice | None:
    """A notice for the row's channel's `fallback`, if it names one (never for a notice)."""
    channel = channels.get(row.channel)
    fallback = channels.get(channel.fallback) if channel and channel.fallback else None
    if fallback is None or row.notice is not None:
        return None
    data = notice_payload(key, kind, title, summary, now)
    return Notice(fallback.name, key, row.detection_id, data)


def dead_notice(
    channels: Mapping[str, Channel], row: AlertRow, detail: str, now: datetime
) -> Notice | None:
    """Tell the owner an alert was given up after its last attempt."""
    return _notice(
        channels,
        row,
        key=f"dead:{row.message_id}",
        kind="alert_failed",
        title=f"ofsted-watch could not deliver an alert to {row.channel}",
        summary=f"Gave up after {row.attempts} attempts: {detail}",
        now=now,
    )


def disabled_notice(channels: Mapping[str, Channel], row: AlertRow, now: datetime) -> Notice | None:
    """Tell the owner a channel was disabled because its endpoint answered 410 Gone."""
    return _notice(
        channels,
        row,
        key=f"disabled:{row.channel}:{now:%Y%m%dT%H%M%S}",
        kind="channel_disabled",
        title=f"ofsted-watch disabled the channel {row.channel}",
        summary=f"The endpoint answered 410 Gone. Alerts for it are held until "
        f"`ofsted-watch alerts enable {row.channel}`.",
        now=now,
    )
