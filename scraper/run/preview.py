"""`test-source`: what one source yields now and the verdict on each item, storing nothing.

It judges through the same `Judge` a real poll uses, so `DETECT` here means a poll would
detect it (story identity and the baseline aside)."""

from __future__ import annotations

from typing import Any

from scraper.clock import Clock, utcnow
from scraper.ingest.fetch import Fetcher
from scraper.ingest.sources import build_source, poll_counted, source_policy
from scraper.judge.verdict import Verdict
from scraper.models import Item, PollContext, Report
from scraper.run.pipeline import judge_for
from scraper.settings.config import Settings
from scraper.settings.schema import SourceConfig


def preview_source(
    settings: Settings, fetcher: Fetcher, cfg: SourceConfig, *, now: Clock = utcnow
) -> list[dict[str, Any]]:
    """What a source yields now, with the verdict and its reason on each item; nothing stored.

    It judges through `Judge`, as a real poll does, so `DETECT` here means a poll would detect
    it (story identity and the baseline aside).
    """
    ctx = PollContext(
        fetch=fetcher.view(source_policy(settings.http, cfg)),
        validators={},
        cursor={},
        watched=settings.watched,
        now=now,
    )
    result = poll_counted(build_source(cfg), ctx)
    judge, moment = judge_for(settings), now()
    rows = [_item_row(item, judge.item(item, moment, explain=True)) for item in result.items]
    rows += [
        _report_row(report, judge.report(report, source=result.source, now=moment))
        for report in result.reports
    ]
    return rows


def _item_row(item: Item, verdict: Verdict) -> dict[str, Any]:
    cls, match = verdict.classification, verdict.match
    return {
        "title": item.title,
        "url": item.url,
        "published": item.published.date().isoformat() if item.published else None,
        "relevant": bool(cls and cls.relevant),
        "report_type": cls.report_type if cls else None,
        "judgement": cls.judgement if cls else None,
        "councils": [c.short_name for c in match.councils],
        "evidence": [f"{e.where}: {e.text}" for e in match.evidence],
        "detect": verdict.detect,
        "reason": verdict.reason,
    }


def _report_row(report: Report, verdict: Verdict) -> dict[str, Any]:
    return {
        "title": report.label,
        "url": report.url,
        "published": report.published.isoformat() if report.published else None,
        "relevant": True,
        "report_type": report.report_type,
        "judgement": report.judgement,
        "councils": [report.council_name],
        "evidence": [],
        "detect": verdict.detect,
        "reason": verdict.reason,
    }
