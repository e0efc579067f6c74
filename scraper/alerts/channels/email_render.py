"""Alert emails as text: subject, plain-text and HTML parts, list headers.

Everything from a feed is untrusted. Header values pass through `clean` (no CR/LF/control
characters, so no header injection) and every value in the HTML part is escaped.
"""

from __future__ import annotations

import email.policy
import html
import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from zoneinfo import ZoneInfoNotFoundError

from scraper.alerts.channels.formats import clean, facts, headline, safe_url, show_date, title_line
from scraper.clock import LONDON
from scraper.models import AlertPayload

PREFIX = "[ofsted-watch]"
SUBJECT_CHARS = 200
FOOTER = "Sent by ofsted-watch because this address is on an alert channel."


def london(moment: datetime) -> datetime:
    """Display time in Europe/London (UTC if the zone database is missing)."""
    try:
        return moment.astimezone(LONDON)
    except ZoneInfoNotFoundError:
        return moment


def item_line(data: AlertPayload) -> str:
    """One-line summary: "Monitoring visit: West Berkshire — published 23 Jan 2017"."""
    if data.kind == "news_article":
        return f"News: {headline(data)}"
    if data.kind == "test":  # `alerts test`: its title already says TEST
        return headline(data)
    if data.kind != "ofsted_report":  # notices about ofsted-watch itself
        return f"Notice: {headline(data)}"
    line = title_line(data)
    if data.published:
        line += f" — published {show_date(data.published)}"
    return line


def subject(items: Sequence[AlertPayload], digest: str | None, now: datetime) -> str:
    """The Subject header: one item names it; a digest counts them."""
    if digest is None and len(items) == 1:
        text = item_line(items[0])
    else:
        label = f"{clean(digest).capitalize()} digest" if digest else "Digest"
        noun = "item" if len(items) == 1 else "items"
        day = london(now)
        text = f"{label}: {len(items)} new {noun} — {day.day} {day:%b %Y}"
    return clean(f"{PREFIX} {text}", SUBJECT_CHARS)


def text_part(items: Sequence[AlertPayload]) -> str:
    """The text/plain part: one block per item."""
    blocks = []
    for data in items:
        lines = [item_line(data), ""]
        lines += [f"{name}: {value}" for name, value in facts(data)]
        url = safe_url(data.url)
        if url:
            lines.append(f"Link: {url}")
        if data.summary:
            lines += ["", clean(data.summary)]
        blocks.append("\n".join(lines))
    return "\n\n----\n\n".join(blocks) + f"\n\n-- \n{FOOTER}\n"


def html_part(items: Sequence[AlertPayload], title: str) -> str:
    """The text/html part: every scraped value escaped; links only when http(s)."""
    esc = html.escape
    sections = []
    for data in items:
        rows = "".join(
            f'<tr><th align="left">{esc(name)}</th><td>{esc(value)}</td></tr>'
            for name, value in facts(data)
        )
        parts = [f"<h2>{esc(item_line(data))}</h2>", f"<table>{rows}</table>"]
        if data.summary:
            parts.append(f"<p>{esc(clean(data.summary))}</p>")
        url = safe_url(data.url)
        if url:
            parts.append(f'<p><a href="{esc(url)}">Open</a></p>')
        sections.append("\n".join(parts))
    body = "\n<hr>\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title></head>\n<body>\n{body}\n"
        f"<p><small>{esc(FOOTER)}</small></p>\n</body></html>\n"
    )


def list_id(name: str, sender: str) -> str:
    """RFC 2919 List-Id: the configured id, qualified with the sender's domain if bare."""
    token = re.sub(r"[^A-Za-z0-9.-]", "-", clean(name)) or "ofsted-watch"
    if "." not in token:
        domain = parseaddr(sender)[1].rpartition("@")[2]
        token += "." + (re.sub(r"[^A-Za-z0-9.-]", "-", domain) or "localhost")
    return f"<{token}>"


def unsubscribe_headers(unsubscribe: str | None, sender: str) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe, plus RFC 8058 one-click when the target is an https URL."""
    target = clean(unsubscribe) if unsubscribe else ""
    if target.lower().startswith(("https://", "http://", "mailto:")):
        uri = target
    else:
        uri = "mailto:" + (target or parseaddr(sender)[1]) + "?subject=unsubscribe"
    headers = {"List-Unsubscribe": f"<{uri.replace('>', '%3E')}>"}
    if uri.lower().startswith("https://"):
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def compose(
    *,
    sender: str,
    to: Sequence[str],
    message_id: str,
    items: Sequence[AlertPayload],
    digest: str | None,
    now: datetime,
    list_name: str,
    unsubscribe: str | None,
) -> EmailMessage:
    """A multipart/alternative alert (text, then HTML) with a stable Message-ID."""
    if not items:
        raise ValueError("an alert email needs at least one item")
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject(items, digest, now)
    message["From"] = clean(sender)
    message["To"] = ", ".join(clean(a) for a in to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<alert-{re.sub(r'[^A-Za-z0-9._+=-]', '-', message_id)}@ofsted-watch>"
    message["List-Id"] = list_id(list_name, sender)
    for name, value in unsubscribe_headers(unsubscribe, sender).items():
        message[name] = value
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    # quoted-printable keeps the body 7-bit for relays without 8BITMIME
    message.set_content(text_part(items), cte="quoted-printable")
    message.add_alternative(
        html_part(items, str(message["Subject"])), subtype="html", cte="quoted-printable"
    )
    return message
