"""Routing: each channel's `councils`, `report_types` and `kinds` filters, alone and combined."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scraper.alerts.routing import router
from scraper.judge.councils import load_register
from scraper.models import Detection
from scraper.settings.config import Settings
from scraper.settings.load import load_settings
from scraper.store import Route

CHANNELS = """
[[alerts]]
name = "all"
type = "webhook"
url = "https://hooks.example.org/all"

[[alerts]]
name = "reading"
type = "webhook"
url = "https://hooks.example.org/reading"
councils = ["Reading"]

[[alerts]]
name = "mv"
type = "webhook"
url = "https://hooks.example.org/mv"
report_types = ["monitoring_visit"]

[[alerts]]
name = "news"
type = "webhook"
url = "https://hooks.example.org/news"
kinds = ["news_article"]

[[alerts]]
name = "narrow"
type = "webhook"
url = "https://hooks.example.org/narrow"
councils = ["870", "E06000037"]
report_types = ["inspection"]
kinds = ["ofsted_report"]

[[alerts]]
name = "digest"
type = "email"
smtp_host = "smtp.example.org"
from = "a@example.org"
to = ["b@example.org"]
digest = "weekly"
councils = ["West Berkshire"]

[[alerts]]
name = "off"
type = "webhook"
url = "https://hooks.example.org/off"
enabled = false
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("routing") / "ofsted-watch.toml"
    path.write_text(
        '[watchlist]\ncouncils = ["West Berkshire", "Reading", "Bath and North East Somerset"]\n'
        + CHANNELS,
        encoding="utf-8",
    )
    return load_settings(str(path))


def det(councils: tuple[str, ...], kind: str = "ofsted_report", rtype: str | None = None) -> Any:
    register = load_register()
    return Detection(
        id="d",
        kind=kind,
        report_type=rtype,
        councils=tuple(register.lookup_all(c)[0] for c in councils),
        title="t",
        url=None,
        published=None,
        source="s",
        first_seen=datetime(2026, 1, 1, tzinfo=UTC),
    )


def names(settings: Settings, detection: Detection) -> list[str]:
    return [r.channel for r in router(settings.alert_channels)(detection)]


@pytest.mark.parametrize(
    ("councils", "kind", "rtype", "expected"),
    [
        (("West Berkshire",), "ofsted_report", "monitoring_visit", ["all", "mv", "digest"]),
        (("Reading",), "ofsted_report", "monitoring_visit", ["all", "reading", "mv"]),
        (("Reading",), "ofsted_report", "inspection", ["all", "reading", "narrow"]),
        (("Reading",), "news_article", "inspection", ["all", "reading", "news"]),
        (("Bath and North East Somerset",), "news_article", None, ["all", "news"]),
        (("Bath and North East Somerset", "Reading"), "ofsted_report", "focused_visit",
         ["all", "reading"]),
        (("West Berkshire",), "ofsted_report", "inspection", ["all", "narrow", "digest"]),
    ],
)  # fmt: skip
def test_router_sends_each_detection_only_where_it_belongs(
    settings: Settings, councils: tuple[str, ...], kind: str, rtype: str | None, expected: list[str]
) -> None:
    """Every filter a channel sets must let the detection through; disabled channels get none."""
    assert names(settings, det(councils, kind, rtype)) == expected


def test_router_marks_digest_channels(settings: Settings) -> None:
    """A digest email channel's route carries its period so the row waits for the digest."""
    routes = router(settings.alert_channels)(det(("West Berkshire",), rtype="monitoring_visit"))
    assert Route("digest", "weekly") in routes
    assert Route("all", None) in routes


def test_wants_council_filter_matches_any_council_of_the_detection(settings: Settings) -> None:
    """A story naming several councils reaches a channel filtered on any one of them."""
    reading = next(c for c in settings.alert_channels if c.name == "reading")
    assert reading.wants(det(("West Berkshire", "Reading")))
    assert not reading.wants(det(("West Berkshire",)))


def test_wants_channel_without_filters_takes_everything(settings: Settings) -> None:
    """No filters means the whole watchlist, every type and both kinds."""
    everything = next(c for c in settings.alert_channels if c.name == "all")
    for kind in ("ofsted_report", "news_article"):
        for rtype in (None, "other", "jtai"):
            assert everything.wants(det(("Reading",), kind, rtype))


def test_wants_report_type_filter_drops_unknown_types(settings: Settings) -> None:
    """A channel asking for monitoring visits gets no story whose type is unknown."""
    mv = next(c for c in settings.alert_channels if c.name == "mv")
    assert not mv.wants(det(("Reading",), "news_article", None))


def test_channel_council_filter_accepts_codes_and_aliases(tmp_path: Path) -> None:
    """Channel councils resolve like the watchlist: GSS codes and aliases name the same council."""
    path = tmp_path / "c.toml"
    path.write_text(
        '[watchlist]\ncouncils = ["Reading"]\n[[alerts]]\nname = "x"\ntype = "webhook"\n'
        'url = "https://h.example.org/"\ncouncils = ["E06000038"]\n',
        encoding="utf-8",
    )
    settings = load_settings(str(path))
    assert names(settings, det(("Reading",))) == ["x"]
    assert names(settings, det(("West Berkshire",))) == []
