"""The store on SQLite and on the real PostgreSQL: atomic polls, unique keys, the alert queue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scraper.councils import load_register
from scraper.models import Detection, Report, SourceResult, Validators
from scraper.store import PollRecord, Route, Store
from scraper.store.db import make_engine, upgrade
from scraper.store.schema import alerts

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def detection(n: int = 1) -> Detection:
    wb = load_register().lookup("West Berkshire")
    assert wb is not None
    return Detection(
        id=f"ofsted:5000000{n}",
        kind="ofsted_report",
        report_type="monitoring_visit",
        councils=(wb,),
        title="Monitoring visit",
        url=f"https://files.ofsted.gov.uk/v1/file/5000000{n}",
        published=date(2017, 1, 23),
        source="ofsted",
        first_seen=T0,
        visit_dates=(date(2016, 12, 13), date(2016, 12, 14)),
    )


def report(n: int = 1) -> Report:
    return Report(
        urn="80577",
        council_name="West Berkshire Council",
        label="Monitoring visit",
        url=f"https://files.ofsted.gov.uk/v1/file/5000000{n}",
        file_id=f"5000000{n}",
        report_type="monitoring_visit",
        published=date(2017, 1, 23),
    )


def record(
    store: Store,
    dets: list[Detection],
    *,
    baseline: bool = False,
    validators: dict[str, Validators] | None = None,
    cursor: dict[str, object] | None = None,
) -> list[Detection]:
    result = SourceResult(source="ofsted", validators=validators or {}, cursor=cursor)
    rec = PollRecord(
        result=result,
        items=[],
        reports=[(report(), "E06000037")],
        detections=[(d, None) for d in dets],
        baseline=baseline,
    )
    old = store.load_state("ofsted")
    return store.record_poll(rec, old=old, now=T0, routes=lambda d: [Route("hook"), Route("mail")])


def test_store_migrations_are_idempotent(db_url: str) -> None:
    """Migrations apply on an empty database and a second upgrade does nothing."""
    engine = make_engine(db_url)
    assert upgrade(engine) == ["0001"]
    assert upgrade(engine) == []


def test_record_poll_queues_one_alert_per_route_once(db_url: str) -> None:
    """A new detection is stored with one alert per channel; seeing it again adds nothing."""
    store = Store.open(db_url)
    assert [d.id for d in record(store, [detection()])] == ["ofsted:50000001"]
    assert record(store, [detection()]) == []
    rows = store.alerts()
    assert sorted(r.channel for r in rows) == ["hook", "mail"]
    assert len({r.message_id for r in rows}) == 2
    assert store.detections()[0]["councils"][0]["gss_code"] == "E06000037"
    assert store.reports()[0]["visit_dates"] == []


def test_baseline_records_without_alerts(db_url: str) -> None:
    """A baseline poll stores detections silently: nothing is queued or reported as new."""
    store = Store.open(db_url)
    assert record(store, [detection()], baseline=True) == []
    assert store.alerts() == []
    assert store.detections()[0]["baseline"] is True


def test_alert_uniqueness_is_enforced_by_the_database(db_url: str) -> None:
    """A second alert row for the same channel and key is refused by a unique key, not Python."""
    store = Store.open(db_url)
    record(store, [detection()])
    row = store.alerts()[0]
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(
            sa.insert(alerts).values(
                channel=row.channel,
                alert_key=row.alert_key,
                message_id="x",
                detection_id=row.detection_id,
                status="pending",
                attempts=0,
                next_attempt_at=T0,
                created_at=T0,
                updated_at=T0,
            )
        )


def test_failure_keeps_validators_and_cursor(db_url: str) -> None:
    """A failed poll records the error but never touches validators or seen-state."""
    store = Store.open(db_url)
    record(
        store,
        [],
        validators={"https://x/": Validators(etag='"abc"')},
        cursor={"latest": {"80577": "2017-01-23"}},
    )
    store.record_failure("ofsted", "https://x/: HTTP 500", T0 + timedelta(minutes=5))
    state = store.load_state("ofsted")
    assert state.validators["https://x/"].etag == '"abc"'
    assert state.cursor == {"latest": {"80577": "2017-01-23"}}
    assert state.consecutive_failures == 1 and state.last_error == "https://x/: HTTP 500"
    assert state.last_success_at == T0


def test_claim_leases_rows_to_one_owner(db_url: str) -> None:
    """Claimed rows are invisible to other claimants until their lease expires."""
    store = Store.open(db_url)
    record(store, [detection(1), detection(2)])
    first = store.claim_alerts(now=T0, owner="a", lease=60)
    assert len(first) == 4 and {r.attempts for r in first} == {1}
    assert store.claim_alerts(now=T0 + timedelta(seconds=30), owner="b", lease=60) == []
    again = store.claim_alerts(now=T0 + timedelta(seconds=61), owner="b", lease=60)
    assert sorted(r.id for r in again) == sorted(r.id for r in first)
    assert all(
        r.message_id == f.message_id
        for r, f in zip(sorted(again, key=lambda r: r.id), sorted(first, key=lambda r: r.id))
    )
    # the first owner lost the lease: its late "delivered" does not overwrite b's claim
    assert store.mark_delivered(first[0].id, T0, owner="a") is False
    assert store.mark_delivered(first[0].id, T0, owner="b") is True


def test_retry_dead_and_requeue(db_url: str) -> None:
    """Failed rows come back when due; dead rows only through requeue."""
    store = Store.open(db_url)
    record(store, [detection()])
    rows = store.claim_alerts(now=T0, owner="a", lease=60)
    store.mark_retry(rows[0].id, T0, T0 + timedelta(seconds=5), "HTTP 500", owner="a")
    store.mark_dead(rows[1].id, T0, "HTTP 404", owner="a")
    assert store.queue_depth() == {
        "pending": 0,
        "sending": 0,
        "delivered": 0,
        "failed": 1,
        "dead": 1,
    }
    assert store.claim_alerts(now=T0 + timedelta(seconds=4), owner="a", lease=60) == []
    assert [
        r.id for r in store.claim_alerts(now=T0 + timedelta(seconds=5), owner="a", lease=60)
    ] == [rows[0].id]
    assert store.requeue_alerts(T0) == 1
    assert store.alerts(status="pending")[0].id == rows[1].id


def test_release_returns_claimed_rows(db_url: str) -> None:
    """A clean shutdown hands claimed rows back as pending, attempts unchanged."""
    store = Store.open(db_url)
    record(store, [detection()])
    store.claim_alerts(now=T0, owner="a", lease=600)
    assert store.release_alerts("a", T0) == 2
    assert {r.status for r in store.alerts()} == {"pending"} and {
        r.attempts for r in store.alerts()
    } == {0}
