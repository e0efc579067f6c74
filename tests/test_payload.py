"""The one alert payload: built once from a detection, published as a JSON Schema, validated."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from scraper.cli import main
from scraper.judge.councils import load_register
from scraper.judge.detect import report_detection
from scraper.models import AlertPayload, Detection, Evidence, Report, SourceResult, payload_schema
from scraper.store import PollRecord, Store
from tests import payloadcheck

NOW = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


def _council(name: str = "West Berkshire"):  # type: ignore[no-untyped-def]
    return load_register().lookup_all(name)[0]


def _visit() -> Detection:
    report = Report(
        urn="80577",
        council_name="West Berkshire",
        label="Monitoring visit",
        url="https://files.ofsted.gov.uk/v1/file/50000000",
        file_id="50000000",
        report_type="monitoring_visit",
        published=date(2017, 1, 23),
        visit_dates=(date(2016, 12, 13), date(2016, 12, 14)),
        visit_number=3,
        inadequate_since="2015-03",
    )
    return report_detection(report, _council(), source="ofsted", now=NOW)


def test_committed_schema_file_matches_the_model() -> None:
    """docs/payload.schema.json is exactly what the model generates (regenerate on change)."""
    assert payloadcheck.schema() == json.loads(json.dumps(payload_schema()))


def test_schema_command_prints_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """`ofsted-watch schema payload` prints the committed schema and needs no config."""
    assert main(["--config", "/nonexistent.toml", "schema", "payload"]) == 0
    assert json.loads(capsys.readouterr().out) == payloadcheck.schema()


def test_report_payload_carries_visit_number_and_inadequate_since() -> None:
    """A monitoring visit's ordinal and the month of the judgement it follows are published."""
    data = _visit().payload().data()
    payloadcheck.check_data(data)
    assert data["visit_number"] == 3
    assert data["inadequate_since"] == "2015-03"
    assert data["published"] == "2017-01-23"
    assert data["visit_dates"] == ["2016-12-13", "2016-12-14"]
    assert data["councils"] == [
        {"name": "West Berkshire", "gss_code": "E06000037", "ofsted_urn": "80577"}
    ]


def test_payload_unknown_facts_are_null() -> None:
    """A news detection knows no visit facts: they are null, evidence null when none was kept."""
    det = Detection(
        id="news:1",
        kind="news_article",
        report_type=None,
        councils=(_council(),),
        title="Ofsted praises council",
        url="https://news.example/1",
        published=None,
        source="feed",
        first_seen=NOW,
    )
    data = det.payload().data()
    payloadcheck.check_data(data)
    assert (data["visit_number"], data["inadequate_since"], data["evidence"]) == (None, None, None)


def test_payload_timestamp_is_utc_seconds_with_z() -> None:
    """first_seen is written in one format: UTC, whole seconds, a trailing Z."""
    moment = datetime(2026, 11, 22, 20, 0, 0, 987654, tzinfo=timezone(timedelta(hours=1)))
    data = AlertPayload.model_validate({**_visit().payload().data(), "first_seen": moment}).data()
    assert data["first_seen"] == "2026-11-22T19:00:00Z"


def test_payload_refuses_unknown_fields_and_bad_values() -> None:
    """The model is closed: a stray field or an unknown report type is refused, not published."""
    good = _visit().payload().data()
    with pytest.raises(ValidationError):
        AlertPayload.model_validate({**good, "surprise": 1})
    with pytest.raises(ValidationError):
        AlertPayload.model_validate({**good, "report_type": "garden_party"})
    assert payloadcheck.errors({"type": "x", "timestamp": "now", "data": {**good, "x": 1}})


def test_stored_detection_payload_equals_the_built_one(tmp_path: Path) -> None:
    """What the store hands the dispatcher and `detections --json` is the payload as built,
    evidence and visit facts included."""
    det = Detection(
        **{
            **{f: getattr(_visit(), f) for f in Detection.__dataclass_fields__},
            "evidence": (Evidence("West Berkshire", "West Berkshire", "label", 0),),
        }
    )
    store = Store.open(f"sqlite:///{tmp_path}/w.db")
    record = PollRecord(SourceResult(source="ofsted"), [], [], [(det, None)], baseline=False)
    store.record_poll(record, old=store.load_state("ofsted"), now=NOW, routes=lambda d: [])
    stored = store.payload(det.id)
    assert stored == det.payload()
    assert stored is not None and stored.evidence is not None
    assert stored.evidence.councils[0].where == "label"
