"""The only package that speaks SQL. `Store` is the facade the rest of the program uses."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from scraper.models import AlertPayload, Detection, Item, Report, SourceResult
from scraper.store import queue, records, views
from scraper.store.db import current_revision, make_engine, reading, transaction, upgrade
from scraper.store.queue import AlertRow, DisabledChannel, Notice
from scraper.store.records import Deferral, Route, SourceState
from scraper.store.schema import detections

__all__ = [
    "AlertRow",
    "Deferral",
    "DisabledChannel",
    "Notice",
    "PollRecord",
    "Route",
    "SourceState",
    "Store",
]


@dataclass(frozen=True, slots=True)
class PollRecord:
    """Everything one successful poll produced, stored in one transaction."""

    result: SourceResult
    items: Sequence[tuple[Item, str | None, str | None]]  # (item, story key, detection id)
    reports: Sequence[tuple[Report, str | None]]  # (report, GSS code of its council)
    detections: Sequence[tuple[Detection, str | None]]  # (detection, title key)
    baseline: bool  # True: record silently, queue nothing


class Store:
    """Typed operations over the database; each call is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        engine = make_engine(url)
        if migrate:
            upgrade(engine)
        return cls(engine)

    def reader(self) -> Store:
        """A second handle for the web view's reads. On SQLite it holds no connection between
        requests (each one's page cache is freed with it), so the view costs the daemon little
        memory at rest; PostgreSQL keeps the shared pool (the cache lives in the server)."""
        if self.dialect != "sqlite":
            return self
        return Store(
            make_engine(self.engine.url.render_as_string(hide_password=False), pooled=False)
        )

    def close(self) -> None:
        self.engine.dispose()

    def upgrade(self) -> list[str]:
        """Apply pending migrations; returns the revisions applied (none when up to date)."""
        return upgrade(self.engine)

    def revision(self) -> str | None:
        return current_revision(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(1)).scalar() == 1

    # -- sources -----------------------------------------------------------------------------
    def load_state(self, name: str) -> SourceState:
        with reading(self.engine) as conn:
            return records.load_state(conn, name)

    def states(self) -> list[SourceState]:
        with reading(self.engine) as conn:
            return records.all_states(conn)

    def record_poll(
        self,
        rec: PollRecord,
        *,
        old: SourceState,
        now: datetime,
        routes: Callable[[Detection], list[Route]],
        dry_run: bool = False,
    ) -> list[Detection]:
        """Store a poll atomically; returns the detections that were new and were queued.

        A baseline poll stores its detections silently and returns none: they are history.
        A dry run takes exactly the same path in a transaction that is rolled back, so its answer
        is the real poll's answer and nothing is kept.
        """
        with transaction(self.engine, rollback=dry_run) as conn:
            return _record_one(conn, rec, old, now, routes)

    def record_polls(
        self,
        batch: Sequence[tuple[PollRecord, SourceState]],
        *,
        now: datetime,
        routes: Callable[[Detection], list[Route]],
    ) -> list[Detection]:
        """Store several polls in one transaction (one disk sync instead of one per source).

        For polls that found nothing to alert on: if the process dies first, the next poll
        finds the same items and bodies again, and nothing is lost but the work."""
        with transaction(self.engine) as conn:
            return [d for rec, old in batch for d in _record_one(conn, rec, old, now, routes)]

    def seen_keys(self, source: str) -> frozenset[str]:
        """Keys of every item this source has stored: one indexed query per changed feed."""
        with reading(self.engine) as conn:
            return records.item_keys(conn, source)

    def record_failure(
        self, name: str, error: str, now: datetime, deferral: Deferral | None = None
    ) -> None:
        """A failed poll: validators and cursor stay; a host's Retry-After is remembered."""
        with transaction(self.engine) as conn:
            records.save_failure(conn, name, error, now, deferral)

    def last_new_at(self, name: str) -> datetime | None:
        with reading(self.engine) as conn:
            return records.last_new_at(conn, name)

    def note_source_health(
        self,
        name: str,
        values: Mapping[str, datetime | None],
        notices: Sequence[Notice],
        now: datetime,
    ) -> None:
        """Record that a source-health notice was sent and queue it, in one transaction, so
        it is queued once even if the process dies right after."""
        with transaction(self.engine) as conn:
            records.set_notified(conn, name, values)
            for notice in notices:
                queue.enqueue_notice(conn, notice, now)

    def known_detection_ids(self, ids: Collection[str]) -> set[str]:
        """Which of `ids` are already stored detections."""
        with reading(self.engine) as conn:
            return records.known_detection_ids(conn, ids)

    def detections_by_story(self, keys: Collection[str]) -> dict[str, str]:
        """Canonical link -> the detection an item with that link was merged into (any age)."""
        with reading(self.engine) as conn:
            return records.detections_by_story(conn, keys)

    def recent_news(self, since: datetime) -> list[dict[str, Any]]:
        """News detections first seen at or after `since` (story identity's merge window)."""
        with reading(self.engine) as conn:
            return records.recent_news(conn, since)

    def detection_id_for_story(self, story_key: str) -> str | None:
        """The detection an item with this canonical link was merged into (any age)."""
        with reading(self.engine) as conn:
            return records.detection_by_story(conn, story_key)

    # -- queries -----------------------------------------------------------------------------
    def detections(self, **filters: Any) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            return records.query_detections(conn, **filters)

    def reports(
        self,
        *,
        urns: Sequence[str] | None = None,
        report_type: str | None = None,
        since: date | None = None,
    ) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            return records.query_reports(conn, urns=urns, report_type=report_type, since=since)

    def detection(self, detection_id: str) -> dict[str, Any] | None:
        with reading(self.engine) as conn:
            row = (
                conn.execute(select(detections).where(detections.c.id == detection_id))
                .mappings()
                .first()
            )
            return dict(row) if row else None

    # -- alert queue -------------------------------------------------------------------------
    def claim_alerts(
        self,
        *,
        now: datetime,
        owner: str,
        lease: float,
        limit: int = 50,
        channels: Sequence[str] | None = None,
        digest: bool = False,
    ) -> list[AlertRow]:
        with transaction(self.engine) as conn:
            return queue.claim(
                conn,
                now=now,
                owner=owner,
                lease=lease,
                limit=limit,
                channels=channels,
                digest=digest,
            )

    def mark_delivered(self, alert_id: int, now: datetime, owner: str | None = None) -> bool:
        with transaction(self.engine) as conn:
            return queue.mark_delivered(conn, alert_id, now, owner)

    def mark_retry(
        self, alert_id: int, now: datetime, next_at: datetime, error: str, owner: str | None = None
    ) -> bool:
        with transaction(self.engine) as conn:
            return queue.mark_retry(conn, alert_id, now, next_at, error, owner=owner)

    def mark_dead(self, alert_id: int, now: datetime, error: str, owner: str | None = None) -> bool:
        with transaction(self.engine) as conn:
            return queue.mark_dead(conn, alert_id, now, error, owner)

    def bury_alert(
        self,
        alert_id: int,
        now: datetime,
        error: str,
        owner: str | None = None,
        *,
        notice: Notice | None = None,
        disable: str | None = None,
    ) -> bool:
        """Mark an alert dead, disable channel `disable` if given, and queue the owner's
        notice, in one transaction so a crash cannot leave a dead alert untold. With
        `disable`, the notice is queued only by the call that disabled the channel.
        Returns True when this call disabled the channel."""
        with transaction(self.engine) as conn:
            marked = queue.mark_dead(conn, alert_id, now, error, owner)
            newly = queue.disable_channel(conn, disable, now, error) if disable else False
            if notice is not None and marked and (disable is None or newly):
                queue.enqueue_notice(conn, notice, now)
            return newly

    def release_alerts(self, owner: str, now: datetime) -> int:
        with transaction(self.engine) as conn:
            return queue.release(conn, owner, now)

    def unclaim_alerts(self, owner: str, now: datetime, ids: Sequence[int]) -> int:
        """Hand back some claimed rows unsent (their channel was disabled mid-batch)."""
        with transaction(self.engine) as conn:
            return queue.release(conn, owner, now, ids)

    def disabled_channels(self) -> list[DisabledChannel]:
        with reading(self.engine) as conn:
            return queue.disabled_channels(conn)

    def enable_channels(self, now: datetime, names: Sequence[str] | None = None) -> dict[str, int]:
        """Re-enable disabled channels (all when None); name -> alerts requeued with it."""
        with transaction(self.engine) as conn:
            return queue.enable_channels(conn, now, names)

    def requeue_alerts(self, now: datetime, ids: Sequence[int] | None = None) -> int:
        with transaction(self.engine) as conn:
            return queue.requeue(conn, now, ids)

    def alerts(
        self, *, status: str | None = None, ids: Sequence[int] | None = None
    ) -> list[AlertRow]:
        with reading(self.engine) as conn:
            return queue.rows(conn, status=status, ids=ids)

    def last_digest(self, channel: str) -> datetime | None:
        with reading(self.engine) as conn:
            return queue.last_digest(conn, channel)

    def set_last_digest(self, channel: str, slot: datetime, now: datetime) -> None:
        with transaction(self.engine) as conn:
            queue.set_last_digest(conn, channel, slot, now)

    def payload(self, detection_id: str | None) -> AlertPayload | None:
        """The webhook `data` object of a stored detection (None for none)."""
        row = self.detection(detection_id) if detection_id else None
        return records.payload(row) if row else None

    def next_retry_at(self, channels: Sequence[str]) -> datetime | None:
        """When the next alert waiting on these channels falls due, if any."""
        with reading(self.engine) as conn:
            return queue.next_retry_at(conn, channels)

    def queue_depth(self) -> dict[str, int]:
        with reading(self.engine) as conn:
            return queue.depth(conn)

    # -- read-only views (the web app) -------------------------------------------------------
    def detection_page(self, **filters: Any) -> list[dict[str, Any]]:
        """A page of detections, newest first; see views.detection_page for the filters."""
        with reading(self.engine) as conn:
            return views.detection_page(conn, **filters)

    def report_page(self, **filters: Any) -> list[dict[str, Any]]:
        """A page of reports, newest publication first; see views.report_page."""
        with reading(self.engine) as conn:
            return views.report_page(conn, **filters)

    def council_history(
        self, urns: Sequence[str], gss_code: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A council's reports (oldest first) and news detections (newest first), read together."""
        with reading(self.engine) as conn:
            return views.council_reports(conn, urns), views.council_news(conn, gss_code)

    def council_summaries(
        self, urns: Sequence[str], gss_codes: Sequence[str]
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """For the overview: the councils' reports (without long text) and latest news each."""
        with reading(self.engine) as conn:
            return views.report_summaries(conn, urns), views.latest_news(conn, gss_codes)

    def data_version(self) -> tuple[Any, ...]:
        with reading(self.engine) as conn:
            return views.data_version(conn)

    def reports_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            return views.reports_by_id(conn, ids)

    def report_anchors(self, keys: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        with reading(self.engine) as conn:
            return views.report_anchors(conn, keys)


def _record_one(
    conn: Connection,
    rec: PollRecord,
    old: SourceState,
    now: datetime,
    routes: Callable[[Detection], list[Route]],
) -> list[Detection]:
    new: list[Detection] = []
    for det, title_key in rec.detections:
        if records.save_detection(conn, det, title_key, rec.baseline) and not rec.baseline:
            new.append(det)
            queue.enqueue(conn, det.id, routes(det), now)
    records.save_items(conn, rec.items, now)
    for report, gss in rec.reports:
        records.save_report(conn, rec.result.source, report, gss, now)
    records.save_success(conn, rec.result, old, now)
    return new
