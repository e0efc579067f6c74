"""Webhook bodies: our own JSON envelope, Slack Block Kit, a Teams Adaptive Card, a Discord embed.

Every renderer takes the published payload (`AlertPayload`) and returns the exact bytes to send
and sign. Feed text is untrusted: Slack mrkdwn is escaped (so `<!channel>` cannot ping),
Discord mentions are disabled, and links are only ever http(s).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from scraper.clock import iso_utc
from scraper.models import AlertPayload, CouncilRef, WebhookEnvelope

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

TYPE_LABELS = {
    "monitoring_visit": "Monitoring visit",
    "focused_visit": "Focused visit",
    "inspection": "Inspection",
    "jtai": "Joint targeted area inspection",
    "area_send": "Area SEND inspection",
    "other": "Other report",
}
JUDGEMENT_LABELS = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires improvement",
    "inadequate": "Inadequate",
}

Renderer = Callable[[AlertPayload, str, datetime], dict[str, Any]]


# ---- display helpers shared with the email channel -------------------------------------------


def clean(value: object, limit: int | None = None) -> str:
    """One line of display text: control characters (CR, LF, ...) become spaces, then trimmed."""
    text = " ".join(_CONTROL.sub(" ", "" if value is None else str(value)).split())
    return truncate(text, limit) if limit else text


def truncate(text: str, limit: int) -> str:
    """Text cut to `limit` characters, with an ellipsis when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_url(value: object) -> str | None:
    """The URL when it is http(s) and printable, else None (no javascript: links)."""
    url = clean(value)
    return url if re.match(r"(?i)https?://[^\s<>\"]+$", url) else None


def show_date(value: object) -> str:
    """An ISO date as "23 Jan 2017"; anything unparseable is shown as given."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return clean(value)
    return f"{day.day} {day:%b %Y}"


def show_month(value: str) -> str:
    """A "YYYY-MM" month as "Mar 2015"; anything unparseable is shown as given."""
    try:
        day = date.fromisoformat(f"{value}-01")
    except ValueError:
        return clean(value)
    return f"{day:%b %Y}"


def council_names(data: AlertPayload) -> str:
    """Watched councils named by the detection, main one first."""
    return ", ".join(clean(c.name) for c in data.councils) or "—"


def headline(data: AlertPayload) -> str:
    """The one-line name of a detection: report type for reports, the title for news."""
    if data.kind == "ofsted_report":
        label = TYPE_LABELS.get(str(data.report_type), "")
        return label or clean(data.title) or "Ofsted report"
    return clean(data.title) or "News article"


def title_line(data: AlertPayload) -> str:
    """A chat message title: "Monitoring visit: West Berkshire" for reports, the news headline."""
    if data.kind == "ofsted_report":
        return f"{headline(data)}: {council_names(data)}"
    return headline(data)


def facts(data: AlertPayload) -> list[tuple[str, str]]:
    """Label/value pairs worth showing, in display order; unknown values are left out."""
    rows = [("Council", council_names(data))]
    title = clean(data.title)
    if data.kind == "ofsted_report" and title and title != headline(data):
        rows.insert(0, ("Title", title))
    if data.report_type:
        rows.append(("Type", TYPE_LABELS.get(data.report_type, clean(data.report_type))))
    if data.visit_number is not None:
        rows.append(("Visit number", str(data.visit_number)))
    if data.inadequate_since:
        rows.append(("Inadequate since", show_month(data.inadequate_since)))
    if data.published:
        rows.append(("Published", show_date(data.published)))
    if data.visit_dates:
        rows.append(("Visit dates", ", ".join(show_date(d) for d in data.visit_dates)))
    if data.judgement:
        rows.append(("Judgement", JUDGEMENT_LABELS.get(data.judgement, clean(data.judgement))))
    rows.append(("Source", clean(data.source) or "—"))
    return rows


# ---- renderers --------------------------------------------------------------------------------


def render_json(data: AlertPayload, event_type: str, timestamp: datetime) -> dict[str, Any]:
    """Our own envelope, documented in the interface: type, timestamp, data."""
    return WebhookEnvelope(type=event_type, timestamp=timestamp, data=data).model_dump(mode="json")


def _mrkdwn(text: str) -> str:
    """Slack control characters escaped, as Slack's formatting guide requires."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(data: AlertPayload, event_type: str, timestamp: datetime) -> dict[str, Any]:
    """Block Kit: header, fields, summary and a button; `text` is the notification fallback."""
    title = title_line(data)
    fields = [
        {"type": "mrkdwn", "text": truncate(f"*{name}*\n{_mrkdwn(value)}", 2000)}
        for name, value in facts(data)
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(title, 150)}},
        {"type": "section", "fields": fields[:10]},
    ]
    if data.summary:
        text = {"type": "mrkdwn", "text": truncate(_mrkdwn(clean(data.summary)), 3000)}
        blocks.append({"type": "section", "text": text})
    url = safe_url(data.url)
    if url:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url}
        blocks.append({"type": "actions", "elements": [button]})
    fallback = title_line(data)
    if data.kind == "ofsted_report" and data.published:
        fallback += f" — published {show_date(data.published)}"
    return {"text": truncate(_mrkdwn(fallback), 3000), "blocks": blocks}


# Discord and Teams render markdown in message text: every punctuation mark that can start
# formatting or a link is backslash-escaped, and "://" is split with a zero-width space so a bare
# URL in a headline is not auto-linked. The only links left are the ones built from `url`.
_MARKDOWN = re.compile(r"([\\`*_~|>#\[\]()<-])")
_ZWSP = "\u200b"


def escape_markdown(text: str) -> str:
    """Scraped text made inert for Discord and Teams markdown (shown as written)."""
    escaped = _MARKDOWN.sub(r"\\\1", text).replace("://", ":" + _ZWSP + "//")
    return escaped.replace("@", "@" + _ZWSP)  # no @everyone / @here, even as text


def _md_facts(data: AlertPayload) -> list[tuple[str, str]]:
    return [(name, escape_markdown(value)) for name, value in facts(data)]


def render_teams(data: AlertPayload, event_type: str, timestamp: datetime) -> dict[str, Any]:
    """A message with one Adaptive Card 1.4, as Teams Workflows and incoming webhooks accept."""
    title = escape_markdown(title_line(data))
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _md_facts(data)]},
    ]
    if data.summary:
        summary = escape_markdown(clean(data.summary, 2000))
        body.append({"type": "TextBlock", "text": summary, "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    url = safe_url(data.url)
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": url}]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}


def render_discord(data: AlertPayload, event_type: str, timestamp: datetime) -> dict[str, Any]:
    """One embed within Discord's limits; `allowed_mentions` stops feed text pinging anyone."""
    title = escape_markdown(title_line(data))
    embed: dict[str, Any] = {
        "title": truncate(title, 256),
        "description": truncate(escape_markdown(clean(data.summary)), 4096),
        "fields": [
            {"name": truncate(k, 256), "value": truncate(v, 1024), "inline": True}
            for k, v in _md_facts(data)
        ][:25],
        "timestamp": iso_utc(timestamp),
    }
    url = safe_url(data.url)
    if url:
        embed["url"] = url
    content = truncate(f"New on ofsted-watch: {title}", 2000)
    return {"content": content, "embeds": [embed], "allowed_mentions": {"parse": []}}


FORMATS: dict[str, Renderer] = {
    "json": render_json,
    "slack": render_slack,
    "teams": render_teams,
    "discord": render_discord,
}


def render(
    format: str,
    data: AlertPayload,
    *,
    event_type: str,
    timestamp: datetime,
) -> bytes:
    """The exact body to send (and sign) for one format: compact UTF-8 JSON."""
    try:
        renderer = FORMATS[format]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"unknown webhook format {format!r}; use one of {known}") from None
    document = renderer(data, event_type, timestamp)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sample_detection(now: datetime, council: CouncilRef | None = None) -> AlertPayload:
    """A harmless payload for `alerts test NAME`: "TEST" in its title, a fresh id each time
    (receivers dedupe on webhook-id), links to nothing private."""
    where = council or CouncilRef(name="West Berkshire", gss_code="E06000037", ofsted_urn="80577")
    return AlertPayload(
        id="test-" + now.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4),
        kind="test",
        report_type=None,
        councils=[where],
        title="TEST: ofsted-watch test alert",
        url="https://reports.ofsted.gov.uk/",
        published=now.date(),
        visit_dates=[],
        judgement=None,
        source="ofsted-watch",
        summary="TEST: this is a test message from ofsted-watch; no report was published.",
        first_seen=now,
    )


def redact(text: str, *secrets: str | None) -> str:
    """Text with every secret value (and each word of a multi-secret string) replaced by ***."""
    words = {w for s in secrets if s for w in (s, *s.split()) if len(w) >= 4}
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, "***")
    return text
