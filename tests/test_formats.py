"""Webhook body formats: our JSON envelope, Slack, Teams and Discord, pinned as snapshots."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scraper.alerts.channels.formats import FORMATS, redact, render, safe_url, sample_detection
from scraper.models import AlertPayload, Council, Detection

SNAPSHOTS = Path(__file__).parent / "fixtures" / "snapshots"
FIXED_TIME = datetime(2026, 11, 22, 19, 0, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)> <!channel> @everyone'

WEST_BERKSHIRE = Council(
    name="West Berkshire Council",
    short_name="West Berkshire",
    gss_code="E06000037",
    dfe_la_code="869",
    ofsted_urn="80577",
    region="South East",
)


def fixed_detection(**changes: Any) -> AlertPayload:
    """The payload every snapshot is built from (a 2017 monitoring visit)."""
    values: dict[str, Any] = {
        "id": "ofsted:50000000",
        "kind": "ofsted_report",
        "report_type": "monitoring_visit",
        "councils": (WEST_BERKSHIRE,),
        "title": "Monitoring visit",
        "url": "https://files.ofsted.gov.uk/v1/file/50000000",
        "published": date(2017, 1, 23),
        "source": "ofsted",
        "first_seen": datetime(2026, 11, 22, 18, 59, 58, tzinfo=UTC),
        "visit_dates": (date(2016, 12, 13), date(2016, 12, 14)),
        "summary": "Second monitoring visit since the local authority was judged inadequate.",
    }
    values.update(changes)
    return Detection(**values).payload()


def with_councils(data: AlertPayload, *councils: dict[str, Any]) -> AlertPayload:
    """The payload naming other councils (e.g. one with a hostile name)."""
    return AlertPayload.model_validate({**data.data(), "councils": list(councils)})


def assert_snapshot(name: str, content: bytes) -> None:
    """Compare bytes with tests/fixtures/snapshots/NAME; UPDATE_SNAPSHOTS=1 rewrites the file."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return
    assert path.exists(), f"missing snapshot {path}; run with UPDATE_SNAPSHOTS=1 to create it"
    assert content == path.read_bytes(), f"{name} differs from its snapshot"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_render_matches_snapshot(fmt: str) -> None:
    """Each format's body for the fixed detection is byte-for-byte the pinned snapshot."""
    body = render(fmt, fixed_detection(), event_type="detection.created", timestamp=FIXED_TIME)
    assert_snapshot(f"webhook-{fmt}.json", body)


def test_render_json_is_the_documented_envelope() -> None:
    """The json format is {type, timestamp, data} with data exactly Detection.payload()."""
    data = fixed_detection()
    body = json.loads(render("json", data, event_type="detection.created", timestamp=FIXED_TIME))
    assert body == {
        "type": "detection.created",
        "timestamp": "2026-11-22T19:00:00Z",
        "data": data.data(),
    }


def test_render_unknown_format_is_an_error() -> None:
    """An unknown format name raises ValueError naming the known ones."""
    with pytest.raises(ValueError, match="discord, json, slack, teams"):
        render("xml", fixed_detection(), event_type="detection.created", timestamp=FIXED_TIME)


def test_render_slack_escapes_mrkdwn_and_has_fallback() -> None:
    """Slack text escapes <, > and & (no `<!channel>` ping) and carries a fallback `text`."""
    data = fixed_detection(kind="news_article", report_type=None, summary=HOSTILE, title=HOSTILE)
    body = json.loads(render("slack", data, event_type="e", timestamp=FIXED_TIME))
    assert body["text"].startswith("&lt;script&gt;")
    sections = [b for b in body["blocks"] if b["type"] == "section" and "text" in b]
    assert "<!channel>" not in sections[0]["text"]["text"]
    assert "&lt;!channel&gt;" in sections[0]["text"]["text"]
    assert body["blocks"][0]["text"]["type"] == "plain_text"


def test_render_teams_is_an_adaptive_card_message() -> None:
    """Teams gets a message whose one attachment is an Adaptive Card 1.4 with an Open action."""
    body = json.loads(render("teams", fixed_detection(), event_type="e", timestamp=FIXED_TIME))
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["actions"][0]["url"] == "https://files.ofsted.gov.uk/v1/file/50000000"


def test_render_discord_truncates_to_limits_and_disables_mentions() -> None:
    """Discord embed title ≤ 256, description ≤ 4096, field values ≤ 1024; no mention parsing."""
    long_name = "N" * 3000
    council = {"name": long_name, "gss_code": None, "ofsted_urn": None}
    data = with_councils(fixed_detection(title="T" * 1000, summary="S" * 10000), council)
    body = json.loads(render("discord", data, event_type="e", timestamp=FIXED_TIME))
    (embed,) = body["embeds"]
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["description"]) == 4096
    assert all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert len(body["content"]) <= 2000
    assert body["allowed_mentions"] == {"parse": []}
    assert embed["timestamp"] == "2026-11-22T19:00:00Z"


def test_render_links_only_http_urls() -> None:
    """A javascript: URL from a feed becomes no link at all in any format."""
    data = fixed_detection(url="javascript:alert(1)")
    for fmt in FORMATS:
        body = render(fmt, data, event_type="e", timestamp=FIXED_TIME).decode()
        if fmt != "json":
            assert "javascript:" not in body
    assert safe_url("https://example.org/a b") is None


def test_render_is_deterministic_utf8() -> None:
    """The same input gives identical bytes, UTF-8 without ASCII escapes."""
    data = fixed_detection(title="Children’s services — Bath & North East Somerset")
    first = render("json", data, event_type="e", timestamp=FIXED_TIME)
    assert first == render("json", data, event_type="e", timestamp=FIXED_TIME)
    assert "Children’s services —".encode() in first


def test_redact_replaces_each_secret() -> None:
    """Every configured secret word is replaced by *** in free text."""
    text = "failed for whsec_AAAA and whsec_BBBB with hunter22"
    assert (
        redact(text, "whsec_AAAA whsec_BBBB", "hunter22", None) == "failed for *** and *** with ***"
    )


def test_sample_detection_renders_in_every_format() -> None:
    """The `alerts test` detection is a valid payload for every format."""
    data = sample_detection(FIXED_TIME)
    for fmt in FORMATS:
        assert json.loads(render(fmt, data, event_type="detection.test", timestamp=FIXED_TIME))
    assert "ofsted-watch test alert" in data.title


MARKDOWN_HOSTILE = (
    "[Read the full report](http://phish.example) *bold* _it_ ~strike~ `code` | > # "
    "<http://x> @everyone"
)


def _texts(value: Any) -> list[str]:
    """Every string in a rendered body, keys aside."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("fmt", ["discord", "teams"])
def test_render_markdown_formats_escape_scraped_text(fmt: str) -> None:
    """Discord and Teams get scraped text with every markdown link and format mark escaped and
    bare URLs broken, so the only link is the one built from `url`; pinned as snapshots."""
    council = {"name": "*Reading* [x](http://c.example)", "gss_code": None, "ofsted_urn": None}
    data = with_councils(
        fixed_detection(
            kind="news_article", report_type=None, title=MARKDOWN_HOSTILE, summary=MARKDOWN_HOSTILE
        ),
        council,
    )
    rendered = render(fmt, data, event_type="detection.created", timestamp=FIXED_TIME)
    assert_snapshot(f"webhook-{fmt}-hostile.json", rendered)
    texts = _texts(json.loads(rendered))
    scraped = [t for t in texts if "Read the full report" in t or "Reading" in t]
    assert scraped, "the hostile text is shown"
    for text in scraped:
        assert "](" not in text and "http://" not in text and "@everyone" not in text
        assert "\\[Read the full report\\]" in text or "\\*Reading\\*" in text
        for mark in ("*", "_", "~", "`", "|", ">", "#", "<"):
            assert all(text[i - 1] == "\\" for i, c in enumerate(text) if c == mark), mark
    links = [t for t in texts if t.startswith("http")]
    assert set(links) <= {"https://files.ofsted.gov.uk/v1/file/50000000", *_SCHEMA_URLS}


_SCHEMA_URLS = {"http://adaptivecards.io/schemas/adaptive-card.json"}
