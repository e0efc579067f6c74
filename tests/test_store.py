"""The store on SQLite and on the real PostgreSQL: atomic polls, unique keys, the alert queue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scraper.alerts.dispatch import notice_payload
from scraper.cli.commands import main
from scraper.judge.councils import load_register
from scraper.models import Detection, Item, Report, SourceResult, Validators
from scraper.store import Notice, PollRecord, Route, SourceState, Store
from scraper.store.db import head_revision, make_engine, upgrade
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
    old: SourceState | None = None,
) -> list[Detection]:
    result = SourceResult(source="ofsted", validators=validators or {}, cursor=cursor)
    rec = PollRecord(
        result=result,
        items=[],
        reports=[(report(), "E06000037")],
        detections=[(d, None) for d in dets],
        baseline=baseline,
    )
    old = old or store.load_state("ofsted")
    return store.record_poll(rec, old=old, now=T0, routes=lambda d: [Route("hook"), Route("mail")])


def test_store_migrations_are_idempotent(db_url: str) -> None:
    """Migrations apply on an empty database and a second upgrade does nothing."""
    engine = make_engine(db_url)
    assert upgrade(engine) == [head_revision()]
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


def test_head_revision_matches_alembic() -> None:
    """The file-name head used to skip importing alembic is alembic's own head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from scraper.store.db import head_revision

    cfg = Config()
    cfg.set_main_option("script_location", "scraper/store/migrations")
    assert ScriptDirectory.from_config(cfg).get_current_head() == head_revision()


def _alembic_at(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    """Move the schema to `revision` with alembic itself (as an older release would have)."""
    from alembic import command
    from alembic.config import Config

    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("scraper.store") / "migrations"))
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_db_upgrade_migrates_a_0001_database(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db upgrade` takes a 0001 database with a queued alert to 0002: the story index and the
    new columns exist, the alert is kept, and 0002 downgrades and re-applies cleanly."""
    engine = make_engine(db_url)
    _alembic_at(engine, "0001")
    # The state is passed in: today's Store reads columns a 0001 database does not have yet.
    record(Store(engine), [detection()], old=SourceState("ofsted"))
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\nurl = "{db_url}"\n[watchlist]\ncouncils = ["Reading"]\n')
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    assert f"database at revision {head_revision()} (upgraded)" in capsys.readouterr().out
    inspector = sa.inspect(engine)
    assert "ix_items_story_key" in {i["name"] for i in inspector.get_indexes("items")}
    assert {"disabled_at", "disabled_reason"} <= {
        c["name"] for c in inspector.get_columns("channel_state")
    }
    assert "notice" in {c["name"] for c in inspector.get_columns("alerts")}
    store = Store(engine)
    assert [(r.channel, r.status, r.notice) for r in store.alerts()] == [
        ("hook", "pending", None),
        ("mail", "pending", None),
    ]
    _alembic_at(engine, "0001", down=True)
    assert "notice" not in {c["name"] for c in sa.inspect(engine).get_columns("alerts")}
    assert upgrade(engine) == [head_revision()] and len(store.alerts()) == 2
    engine.dispose()


def test_bury_alert_disables_a_channel_once_and_enable_requeues(db_url: str) -> None:
    """Burying with `disable` disables the channel; only the call that disabled it queues the
    owner's notice, and enabling requeues the alerts buried with it."""
    store = Store.open(db_url)
    record(store, [detection(1), detection(2)])
    one, two = store.claim_alerts(now=T0, owner="a", lease=60, channels=["hook"])

    def notice(n: int) -> Notice:
        data = notice_payload(f"disabled:hook:{n}", "channel_disabled", "hook disabled", "", T0)
        return Notice("mail", f"disabled:hook:{n}", one.detection_id, data)

    assert store.bury_alert(one.id, T0, "HTTP 410", "a", notice=notice(1), disable="hook")
    assert not store.bury_alert(two.id, T0, "HTTP 410", "a", notice=notice(2), disable="hook")
    (off,) = store.disabled_channels()
    assert (off.name, off.since, off.reason) == ("hook", T0, "HTTP 410")
    notices = [r for r in store.alerts() if r.notice is not None]
    assert [(r.channel, r.alert_key, r.title, r.status) for r in notices] == [
        ("mail", "disabled:hook:1", "hook disabled", "pending")
    ]
    later = T0 + timedelta(minutes=5)
    assert store.enable_channels(later, ["mail"]) == {}
    assert store.enable_channels(later) == {"hook": 2}
    assert store.disabled_channels() == []
    hook = [r for r in store.alerts() if r.channel == "hook"]
    assert {(r.status, r.attempts, r.next_attempt_at) for r in hook} == {("pending", 0, later)}


def test_bury_alert_queues_each_notice_key_once(db_url: str) -> None:
    """A notice keyed `dead:<message_id>` is queued once, however often its alert is buried."""
    store = Store.open(db_url)
    record(store, [detection()])
    (row,) = store.claim_alerts(now=T0, owner="a", lease=60, channels=["hook"])
    data = notice_payload(f"dead:{row.message_id}", "alert_failed", "", "gave up", T0)
    notice = Notice("mail", f"dead:{row.message_id}", row.detection_id, data)
    store.bury_alert(row.id, T0, "HTTP 400", "a", notice=notice)
    store.requeue_alerts(T0, [row.id])
    (row,) = store.claim_alerts(now=T0, owner="a", lease=60, channels=["hook"])
    store.bury_alert(row.id, T0, "HTTP 400", "a", notice=notice)
    notices = [r for r in store.alerts() if r.notice is not None]
    assert [(r.alert_key, r.notice) for r in notices] == [(notice.key, data)]
    assert notices[0].title == "Monitoring visit", "a notice without a title shows its cause"
    assert not store.disabled_channels()


def test_unclaim_alerts_hands_back_only_the_rows_named(db_url: str) -> None:
    """Rows named are returned to pending with the attempt uncounted; others stay claimed."""
    store = Store.open(db_url)
    record(store, [detection()])
    hook, _mail = sorted(store.claim_alerts(now=T0, owner="a", lease=60), key=lambda r: r.channel)
    assert store.unclaim_alerts("b", T0, [hook.id]) == 0, "only the owner can hand rows back"
    assert store.unclaim_alerts("a", T0, [hook.id]) == 1
    status = {r.channel: (r.status, r.attempts) for r in store.alerts()}
    assert status == {"hook": ("pending", 0), "mail": ("sending", 1)}


def test_seen_keys_are_the_items_one_source_stored(db_url: str) -> None:
    """seen_keys returns every item key stored for that source, and none of another source's."""
    store = Store.open(db_url)

    def item(source: str, key: str) -> Item:
        return Item(source=source, key=key, title=key, url=None, published=None)

    for source, keys in (("feed-a", ["k1", "k2"]), ("feed-b", ["k3"])):
        rows = [(item(source, k), None, None) for k in keys]
        rec = PollRecord(SourceResult(source=source), rows, [], [], baseline=True)
        store.record_poll(rec, old=store.load_state(source), now=T0, routes=lambda d: [])
    assert store.seen_keys("feed-a") == {"k1", "k2"}
    assert store.seen_keys("feed-b") == {"k3"}
    assert store.seen_keys("feed-c") == frozenset()


def test_record_polls_stores_several_sources_together(db_url: str) -> None:
    """record_polls stores each poll's items, validators and cursor, as record_poll would."""
    store = Store.open(db_url)
    batch = []
    for source in ("feed-a", "feed-b"):
        result = SourceResult(
            source=source,
            validators={f"https://{source}.example/": Validators(etag='"1"')},
            cursor={"body_sha256": source},
        )
        rows = [(Item(source=source, key=f"{source}-k", title="t", url=None, published=None),
                 None, None)]  # fmt: skip
        batch.append((PollRecord(result, rows, [], [], baseline=False), store.load_state(source)))
    assert store.record_polls(batch, now=T0, routes=lambda d: []) == []
    for source in ("feed-a", "feed-b"):
        state = store.load_state(source)
        assert store.seen_keys(source) == {f"{source}-k"}
        assert state.cursor == {"body_sha256": source} and state.polls == 1
        assert state.validators == {f"https://{source}.example/": Validators(etag='"1"')}
