"""`ofsted-watch demo`: the whole flow offline, with no configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scraper.cli.commands import main
from scraper.models import WebhookEnvelope


def test_demo_runs_offline_and_prints_detections_and_one_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no config anywhere, demo baselines, detects the new letter and stories, prints one
    alert's webhook JSON (valid against the published envelope) and exits 0."""
    monkeypatch.setenv("OFSTED_WATCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "recorded silently" in out
    found = re.search(r"(\d+) new detection\(s\)", out)
    assert found and int(found.group(1)) >= 5  # the letter and the feeds' new stories
    assert "West Berkshire" in out and "Monitoring visit" in out
    body = json.loads(out[out.index("{") : out.rindex("}") + 1])
    envelope = WebhookEnvelope.model_validate(body)
    assert envelope.type == "detection.created"
    assert envelope.data.id == "ofsted:50000000"
    assert list(tmp_path.iterdir()) == []  # the temporary database is gone


def test_demo_pages_are_the_test_fixtures_byte_for_byte() -> None:
    """The demo replays packaged copies of test fixtures (package data cannot live in tests/);
    the fixtures are the one source, and a copy that drifts from its fixture fails here."""
    root = Path(__file__).resolve().parent.parent
    demo = root / "scraper" / "data" / "demo"
    fixtures = root / "tests" / "fixtures"
    for page in sorted(demo.iterdir()):
        matches = [f for f in fixtures.rglob(page.name) if f.read_bytes() == page.read_bytes()]
        assert matches, f"{page.name} differs from every fixture of that name"
