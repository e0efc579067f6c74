"""Source state, items, reports and detections: written together, one transaction per poll."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, update

from scraper.httputil import redact_url
from scraper.models import (
    AlertPayload,
    Detection,
    Item,
    Report,
    ReportRecord,
    SourceResult,
    Validators,
)
from scraper.store.db import insert_ignore, insert_many_ignore, utc
from scraper.store.schema import detection_councils, detections, items, reports, source_state


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store remembers about a source between polls."""

    name: str
    validators: Mapping[str, Validators] = field(default_factory=dict)
    cursor: Mapping[str, Any] = field(default_factory=dict)
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    polls: int = 0
    not_before: datetime | None = None  # a host deferral (Retry-After) still to honour
    not_before_host: str | None = None
    failing_since: datetime | None = None  # first failure of the current streak
    failing_notified_at: datetime | None = None
    stale_notified_at: datetime | None = None

    @property
    def needs_baseline(self) -> bool:
        """A source never polled successfully records what is there without alerting."""
        return self.last_success_at is None


@dataclass(frozen=True, slots=True)
class Route:
    """One channel an alert for a detection goes to."""

    channel: str
    digest: str | None = None  # "daily"/"weekly" for digest email channels


def load_state(conn: Connection, name: str) -> SourceState:
    row = conn.execute(select(source_state).where(source_state.c.name == name)).mappings().first()
    if row is None:
        return SourceState(name=name)
    return SourceState(
        name=name,
        validators={
            url: Validators(v.get("etag"), v.get("last_modified"))
            for url, v in (row["validators"] or {}).items()
        },
        cursor=row["cursor"] or {},
        last_poll_at=utc(row["last_poll_at"]),
        last_success_at=utc(row["last_success_at"]),
        last_failure_at=utc(row["last_failure_at"]),
        last_error=row["last_error"],
        consecutive_failures=row["consecutive_failures"],
        polls=row["polls"],
        not_before=utc(row["not_before"]),
        not_before_host=row["not_before_host"],
        failing_since=utc(row["failing_since"]),
        failing_notified_at=utc(row["failing_notified_at"]),
        stale_notified_at=utc(row["stale_notified_at"]),
    )


def all_states(conn: Connection) -> list[SourceState]:
    names = conn.execute(select(source_state.c.name).order_by(source_state.c.name)).scalars()
    return [load_state(conn, n) for n in list(names)]


def last_new_at(conn: Connection, name: str) -> datetime | None:
    """When the source last yielded something not seen before (an item or a report)."""
    newest_item = select(func.max(items.c.first_seen)).where(items.c.source == name)
    newest_report = select(func.max(reports.c.first_seen)).where(reports.c.source == name)
    found = [utc(conn.execute(q).scalar()) for q in (newest_item, newest_report)]
    return max((f for f in found if f is not None), default=None)


def set_notified(conn: Connection, name: str, values: Mapping[str, datetime | None]) -> None:
    """Remember which source-health notice was sent (failing, stale), or clear it."""
    _ensure_state(conn, name)
    conn.execute(update(source_state).where(source_state.c.name == name).values(**values))


def _ensure_state(conn: Connection, name: str) -> None:
    insert_ignore(
        conn,
        source_state,
        {"name": name, "validators": {}, "cursor": {}, "consecutive_failures": 0, "polls": 0},
    )


def save_success(conn: Connection, result: SourceResult, old: SourceState, now: datetime) -> None:
    """Validators and cursor change only with a successful poll, so a failed one loses nothing."""
    _ensure_state(conn, result.source)
    # Keyed by URL without credentials: a token in a feed URL is never stored.
    merged = {redact_url(u): _validators_json(v) for u, v in old.validators.items()}
    merged.update({redact_url(u): _validators_json(v) for u, v in result.validators.items()})
    values: dict[str, Any] = {
        "validators": {u: v for u, v in merged.items() if v},
        "last_poll_at": now,
        "last_success_at": now,
        "consecutive_failures": 0,
        "polls": source_state.c.polls + 1,
    }
    if old.not_before is not None or old.not_before_host is not None:
        values.update(not_before=None, not_before_host=None)  # the host answers again
    if result.errors:
        # Stored, so the baseline is taken (last_success_at), but parts failed: the failure
        # counters see a failed poll, so a council that keeps failing is not silent.
        values["last_failure_at"] = now
        values["last_error"] = "; ".join(result.errors)[:2000]
        values["consecutive_failures"] = source_state.c.consecutive_failures + 1
    if result.cursor is not None:
        values["cursor"] = dict(result.cursor)
    conn.execute(update(source_state).where(source_state.c.name == result.source).values(**values))


@dataclass(frozen=True, slots=True)
class Deferral:
    """A host's Retry-After deferral: no request to `host` (hostname:port) before `until`."""

    host: str
    until: datetime


def save_failure(
    conn: Connection, name: str, error: str, now: datetime, deferral: Deferral | None = None
) -> None:
    _ensure_state(conn, name)
    values: dict[str, Any] = {
        "last_poll_at": now,
        "last_failure_at": now,
        "last_error": error[:2000],
        "consecutive_failures": source_state.c.consecutive_failures + 1,
        # A new streak starts at this failure; a running one keeps its start.
        "failing_since": case(
            (source_state.c.consecutive_failures == 0, now),
            else_=func.coalesce(source_state.c.failing_since, now),
        ),
        "polls": source_state.c.polls + 1,
    }
    if deferral is not None:
        values.update(not_before=deferral.until, not_before_host=deferral.host[:300])
    conn.execute(update(source_state).where(source_state.c.name == name).values(**values))


def _validators_json(v: Validators) -> dict[str, str]:
    out = {}
    if v.etag:
        out["etag"] = v.etag
    if v.last_modified:
        out["last_modified"] = v.last_modified
    return out


def save_items(
    conn: Connection, rows: Sequence[tuple[Item, str | None, str | None]], now: datetime
) -> None:
    """Every item seen, once per (source, key); already-known items are left alone."""
    insert_many_ignore(
        conn,
        items,
        [
            {
                "source": item.source,
                "item_key": item.key[:1000],
                "story_key": story_key,
                "title": item.title,
                "url": item.url,
                "published": item.published,
                "first_seen": now,
                "detection_id": det_id,
            }
            for item, story_key, det_id in rows
        ],
    )


def item_keys(conn: Connection, source: str) -> frozenset[str]:
    """The (source, item_key) unique index answers this without reading the table."""
    rows = conn.execute(select(items.c.item_key).where(items.c.source == source)).scalars()
    return frozenset(rows)


def save_report(
    conn: Connection, source: str, report: Report, gss: str | None, now: datetime
) -> bool:
    return insert_ignore(
        conn,
        reports,
        {
            "report_key": report.key,
            "source": source,
            "urn": report.urn,
            "gss_code": gss,
            "council_name": report.council_name,
            "label": report.label,
            "url": report.url,
            "file_id": report.file_id,
            "report_type": report.report_type,
            "published": _iso(report.published),
            "pdf_published": _iso(report.pdf_published),
            "visit_dates": [d.isoformat() for d in report.visit_dates],
            "visit_number": report.visit_number,
            "inadequate_since": report.inadequate_since,
            "judgement": report.judgement,
            "sub_judgements": dict(report.sub_judgements),
            "summary": report.summary,
            "council_as_written": report.council_as_written,
            "text_available": report.text_available,
            "available": report.available,
            "first_seen": now,
        },
    )


def save_detection(conn: Connection, det: Detection, title_key: str | None, baseline: bool) -> bool:
    """True when new; the primary key makes a second insert of one story a no-op."""
    row: dict[str, Any] = {
        "id": det.id,
        "kind": det.kind,
        "report_type": det.report_type,
        "judgement": det.judgement,
        "title": det.title,
        "title_key": title_key,
        "url": det.url,
        "published": _iso(det.published),
        "source": det.source,
        "summary": det.summary,
        "councils": [c.ref() for c in det.councils],
        "visit_dates": [d.isoformat() for d in det.visit_dates],
        **_visit_facts(det),
        "evidence": [
            {"council": e.council, "text": e.text, "where": e.where, "offset": e.offset}
            for e in det.evidence
        ],
        "first_seen": det.first_seen,
        "baseline": baseline,
    }
    if det.reasons:  # NULL when none, as on rows stored before revision 0003
        row["reasons"] = list(det.reasons)
    new = insert_ignore(conn, detections, row)
    if new:
        for c in det.councils:
            insert_ignore(
                conn, detection_councils, {"detection_id": det.id, "gss_code": c.gss_code}
            )
    return new


def _visit_facts(det: Detection) -> dict[str, Any]:
    """Visit facts only when known: a database not yet upgraded to 0005 can still record news."""
    facts = {"visit_number": det.visit_number, "inadequate_since": det.inadequate_since}
    return {k: v for k, v in facts.items() if v is not None}


def detection_by_story(conn: Connection, story_key: str) -> str | None:
    """The detection an item with this story key (canonical link) was merged into, if any."""
    return conn.execute(
        select(items.c.detection_id)
        .where(and_(items.c.story_key == story_key, items.c.detection_id.is_not(None)))
        .order_by(items.c.id)
        .limit(1)
    ).scalar()


def known_detection_ids(conn: Connection, ids: Collection[str]) -> set[str]:
    """Which of `ids` are stored detections (one query per chunk, not per item)."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        found |= set(
            conn.execute(select(detections.c.id).where(detections.c.id.in_(chunk))).scalars()
        )
    return found


def detections_by_story(conn: Connection, keys: Collection[str]) -> dict[str, str]:
    """Story key (canonical link) -> the detection its item was merged into, for `keys`."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(keys))):
        rows = conn.execute(
            select(items.c.story_key, items.c.detection_id)
            .where(and_(items.c.story_key.in_(chunk), items.c.detection_id.is_not(None)))
            .order_by(items.c.id)
        )
        for key, detection_id in rows:
            found.setdefault(key, detection_id)
    return found


def recent_news(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """News detections first seen at or after `since`, for story identity."""
    stmt = select(detections).where(
        and_(detections.c.kind == "news_article", detections.c.first_seen >= since.astimezone(UTC))
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[list[str]]:
    """Keeps IN lists well under every driver's bound-parameter limit."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def query_detections(
    conn: Connection,
    *,
    gss_codes: Sequence[str] | None = None,
    report_type: str | None = None,
    since: date | None = None,
    kind: str | None = None,
    include_baseline: bool = True,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    stmt = select(detections).order_by(detections.c.first_seen.desc(), detections.c.id).limit(limit)
    if gss_codes is not None:
        sub = select(detection_councils.c.detection_id).where(
            detection_councils.c.gss_code.in_(list(gss_codes))
        )
        stmt = stmt.where(detections.c.id.in_(sub))
    if report_type:
        stmt = stmt.where(detections.c.report_type == report_type)
    if kind:
        stmt = stmt.where(detections.c.kind == kind)
    if since:
        stmt = stmt.where(detections.c.published >= since.isoformat())
    if not include_baseline:
        stmt = stmt.where(detections.c.baseline.is_(False))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def query_reports(
    conn: Connection,
    *,
    urns: Sequence[str] | None = None,
    report_type: str | None = None,
    since: date | None = None,
    limit: int = 5000,
) -> list[dict[str, Any]]:
    stmt = select(reports).order_by(reports.c.published.desc(), reports.c.id).limit(limit)
    if urns is not None:
        stmt = stmt.where(reports.c.urn.in_(list(urns)))
    if report_type:
        stmt = stmt.where(reports.c.report_type == report_type)
    if since:
        stmt = stmt.where(reports.c.published >= since.isoformat())
    return [dict(r) for r in conn.execute(stmt).mappings()]


def message_id(channel: str, alert_key: str) -> str:
    """Stable webhook-id / Message-ID: the same alert always carries the same id."""
    digest = hashlib.sha256(f"{channel}\x00{alert_key}".encode()).hexdigest()[:32]
    return f"msg_{digest}"


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def payload(row: Mapping[str, Any]) -> AlertPayload:
    """A stored detection as the published payload (validated on the way out)."""
    return AlertPayload.model_validate(_payload_fields(row))


def _payload_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "report_type": row["report_type"],
        "councils": list(row["councils"] or []),
        "title": row["title"],
        "url": row["url"],
        "published": row["published"],
        "visit_dates": list(row["visit_dates"] or []),
        "judgement": row["judgement"],
        "source": row["source"],
        "summary": row["summary"],
        "first_seen": utc(row["first_seen"]),
        "visit_number": row.get("visit_number"),
        "inadequate_since": row.get("inadequate_since"),
        "evidence": evidence(row),
    }


def evidence(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """Why a stored detection was made: the deciding rules and the words naming each council."""
    councils = list(row.get("evidence") or [])
    reasons = list(row.get("reasons") or [])
    return {"reasons": reasons, "councils": councils} if reasons or councils else None


def report_payload(row: Mapping[str, Any], councils: list[dict[str, Any]]) -> ReportRecord:
    """A stored report as `reports --json` prints it: the detection fields plus report facts."""
    base = _payload_fields(
        {
            **row,
            "id": row["report_key"],
            "kind": "ofsted_report",
            "title": row["label"],
            "councils": councils,
            "evidence": None,
        }
    )
    return ReportRecord.model_validate(
        {
            **base,
            "label": row["label"],
            "pdf_published": row["pdf_published"],
            "sub_judgements": dict(row["sub_judgements"] or {}),
            "text_available": bool(row["text_available"]),
            "available": bool(row["available"]),
            "council_name": row["council_name"],
            "urn": row["urn"],
        }
    )
