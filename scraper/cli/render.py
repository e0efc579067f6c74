"""Text views shared by several commands: what a configuration resolves to. Never prints secrets."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from scraper.settings.config import Settings
from scraper.settings.schema import DEFAULT_EVERY, WebhookChannelConfig


def describe(settings: Settings) -> list[str]:
    """Lines for check-config: what will be watched, polled and alerted."""
    lines = [f"config: {settings.path}", f"storage: {safe_url(settings.storage_url)}"]
    lines.append("watchlist:")
    for c in settings.watched:
        lines.append(
            f"  {c.short_name} (GSS {c.gss_code}, DfE {c.dfe_la_code}, URN {c.ofsted_urn})"
        )
    lines.append(f"report types: {', '.join(settings.report_types)}")
    back = settings.lookback.total_seconds()
    lines.append(
        f"lookback: {_span(back)} (history published since then still alerts)"
        if back
        else "lookback: 0d (first polls and newly watched councils' history are silent)"
    )
    lines.append("sources:")
    for s in settings.sources:
        when = (
            f"cron {s.cron}"
            if s.cron
            else f"every {_span((s.every or DEFAULT_EVERY).total_seconds())}"
        )
        lines.append(f"  {s.name} [{s.type}] {s.shown_url} ({when})")
    lines.append("alerts:")
    for ch in settings.channels:
        if isinstance(ch, WebhookChannelConfig):
            signed = " signed" if ch.secret else ""
            lines.append(f"  {ch.name} [webhook] {origin_only(ch.url)} format={ch.format}{signed}")
        else:
            target = f"{ch.smtp_host}:{ch.smtp_port} ({ch.security}) -> {', '.join(ch.to)}"
            lines.append(f"  {ch.name} [email] {target} digest={ch.digest}")
    notify = ", ".join(settings.daemon.notify) or "none (failing sources are only logged)"
    lines.append(f"notify: {notify}")
    return lines


def _span(seconds: float) -> str:
    """3600 -> '1h', 5400 -> '1h30m': the compact form the config file takes."""
    out, rest = "", int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out or "0s"


def origin_only(url: str) -> str:
    """Scheme and host of a webhook URL: Slack/Teams/Discord URLs carry a token in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/…"


def safe_url(url: str) -> str:
    """Hide a password embedded in a URL (postgresql://user:pw@host/db)."""
    return re.sub(r"(//[^:/@]+):[^@/]+@", r"\1:***@", url)
