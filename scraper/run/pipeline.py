"""run_once(): fetch -> parse -> classify -> match -> store -> queue. The only module that
imports every stage. One source's failure is recorded and never stops the others."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from scraper import failpoints
from scraper.alerts.routing import router
from scraper.clock import utcnow
from scraper.errors import ScraperError
from scraper.ingest.fetch import Fetcher
from scraper.ingest.sources import SourceConfig, build_source, source_policy
from scraper.judge.classify import classify
from scraper.judge.detect import (
    StoryRef,
    councils_by_urn,
    find_story,
    item_story_key,
    news_detection,
    report_detection,
    story_ref,
    story_ref_from_row,
    title_key,
)
from scraper.judge.match import Matcher
from scraper.models import Detection, Item, PollContext, Report, SourceResult
from scraper.settings.config import OfstedSourceConfig, Settings
from scraper.store import PollRecord, SourceState, Store

log = logging.getLogger(__name__)
STORY_MERGE_WINDOW = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """One line of the fetch summary."""

    name: str
    status: str  # "ok", "not_modified", "baseline", "failed"
    items: int = 0
    new: tuple[Detection, ...] = ()
    duration: float = 0.0
    error: str | None = None
    requests: int = 0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True, slots=True)
class RunSummary:
    outcomes: tuple[SourceOutcome, ...] = ()
    detections: tuple[Detection, ...] = field(default=())

    @property
    def failed(self) -> bool:
        return any(not o.ok for o in self.outcomes)


def source_host(cfg: SourceConfig) -> str:
    url = cfg.base_url if isinstance(cfg, OfstedSourceConfig) else cfg.url
    return (urlsplit(url).netloc or url).lower()


def interleave_hosts(sources: Sequence[SourceConfig]) -> list[SourceConfig]:
    """Round-robin over hosts. One host takes one request at a time, so workers handed
    ten sources of one host in a row would all queue behind it while other hosts sit idle."""
    by_host: dict[str, list[SourceConfig]] = {}
    for cfg in sources:
        by_host.setdefault(source_host(cfg), []).append(cfg)
    queues = list(by_host.values())
    out: list[SourceConfig] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out


class Pipeline:
    """Polls configured sources and records what they yield."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        fetcher: Fetcher,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.now = now
        self.matcher = Matcher(settings.watched)
        self.routes = router(settings.alert_channels)
        self._by_urn = councils_by_urn(settings.watched)
        # Sources are polled in parallel; deciding "is this story new?" and storing the answer
        # must not interleave, or one story reaching two feeds in one cycle alerts twice.
        self._story_lock = threading.Lock()

    def run_once(
        self,
        names: Sequence[str] | None = None,
        *,
        dry_run: bool = False,
        full_history: bool = False,
        alert: bool = True,
        types: Sequence[str] | None = None,
    ) -> RunSummary:
        sources = [
            s
            for s in self.settings.sources
            if (not names or s.name in names) and (not types or s.type in types)
        ]
        self.fetcher.begin_cycle()  # hosts whose robots.txt failed last cycle are tried again
        workers = max(1, min(self.settings.http_policy().max_workers, len(sources)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
            futures = {
                s.name: pool.submit(
                    self.poll_source, s, dry_run=dry_run, full_history=full_history, alert=alert
                )
                for s in interleave_hosts(sources)
            }
            outcomes = tuple(futures[s.name].result() for s in sources)
        return RunSummary(outcomes, tuple(d for o in outcomes for d in o.new))

    def poll_source(
        self,
        cfg: SourceConfig,
        *,
        dry_run: bool = False,
        full_history: bool = False,
        alert: bool = True,
    ) -> SourceOutcome:
        started = time.monotonic()
        state = self.store.load_state(cfg.name)
        try:
            result = self._poll(cfg, state, full_history)
            baseline = (state.needs_baseline and not full_history) or not alert
            return self._record(cfg, state, result, started, dry_run=dry_run, baseline=baseline)
        except ScraperError as exc:
            return self._failed(cfg.name, str(exc), started, dry_run)
        except Exception as exc:  # a bug in one source must not stop the others
            log.exception("source=%s unexpected error", cfg.name)
            return self._failed(
                cfg.name, f"internal error: {type(exc).__name__}: {exc}", started, dry_run
            )

    def _poll(self, cfg: SourceConfig, state: SourceState, full_history: bool) -> SourceResult:
        source = build_source(cfg)
        ctx = PollContext(
            fetch=self.fetcher.view(source_policy(self.settings.http_policy(), cfg)),
            validators=state.validators,
            cursor=state.cursor,
            watched=self.settings.watched,
            now=self.now,
            full_history=full_history,
        )
        return source.poll(ctx)

    def _failed(self, name: str, error: str, started: float, dry_run: bool) -> SourceOutcome:
        duration = time.monotonic() - started
        log.warning(
            "poll source=%s status=failed duration=%.2fs error=%s",
            name,
            duration,
            error,
            extra={
                "source": name,
                "status": "failed",
                "items": 0,
                "new": 0,
                "duration": round(duration, 3),
                "error": error,
            },
        )
        if not dry_run:
            self.store.record_failure(name, error, self.now())
        return SourceOutcome(name, "failed", duration=duration, error=error)

    def _record(
        self,
        cfg: SourceConfig,
        state: SourceState,
        result: SourceResult,
        started: float,
        *,
        dry_run: bool,
        baseline: bool,
    ) -> SourceOutcome:
        now = self.now()
        record = PollRecord(
            result=result,
            items=[],
            reports=[(r, self._gss(r)) for r in result.reports],
            detections=[],
            baseline=baseline,
        )
        with self._story_lock:
            record = self._detect(record, now)
            if dry_run:
                new = [d for d, _ in record.detections if self.store.detection(d.id) is None]
            else:
                failpoints.hit("after_detect")
                new = self.store.record_poll(record, old=state, now=now, routes=self.routes)
                failpoints.hit("after_commit")
        status = (
            "not_modified"
            if result.not_modified
            else ("baseline" if state.needs_baseline else "ok")
        )
        duration = time.monotonic() - started
        count = len(result.items) + len(result.reports)
        for w in result.warnings:
            log.warning("source=%s %s", cfg.name, w)
        log.info(
            "poll source=%s status=%s items=%d new=%d requests=%d duration=%.2fs",
            cfg.name,
            status,
            count,
            len(new),
            result.requests,
            duration,
            extra={
                "source": cfg.name,
                "status": status,
                "items": count,
                "new": len(new),
                "requests": result.requests,
                "duration": round(duration, 3),
            },
        )
        return SourceOutcome(
            cfg.name, status, count, tuple(new), duration, requests=result.requests
        )

    def _gss(self, report: Report) -> str | None:
        council = self._by_urn.get(report.urn)
        return council.gss_code if council else None

    def _detect(self, record: PollRecord, now: datetime) -> PollRecord:
        """Items and reports -> detections for watched councils and wanted report types."""
        wanted = set(self.settings.report_types)
        dets: dict[str, tuple[Detection, str | None]] = {}
        items: list[tuple[Item, str | None, str | None]] = []
        stories: list[StoryRef] | None = None  # recent news detections, loaded on first need
        for item in record.result.items:
            found = self._news(item, now, wanted)
            det = None
            if found is not None:
                if stories is None:
                    stories = self._recent_stories(now)
                det = self._identify(item, found, now, stories)
                if det.id not in dets:
                    dets[det.id] = (det, title_key(item.title, item.publisher))
            items.append((item, item_story_key(item), det.id if det else None))
        for report, _gss in record.reports:
            council = self._by_urn.get(report.urn)
            if council and report.available and report.report_type in wanted:
                det = report_detection(report, council, source=record.result.source, now=now)
                dets.setdefault(det.id, (det, None))
        return PollRecord(
            record.result, items, record.reports, list(dets.values()), record.baseline
        )

    def _news(self, item: Item, now: datetime, wanted: set[str]) -> Detection | None:
        cls = classify(item)
        if not cls.relevant:
            return None
        match = self.matcher.match(item)
        if not match.councils:
            return None
        if (
            cls.report_type is not None
            and cls.report_type not in wanted
            and cls.report_type != "other"
        ):
            return None
        return news_detection(item, cls, match, now=now)

    def _recent_stories(self, now: datetime) -> list[StoryRef]:
        since = now - STORY_MERGE_WINDOW
        rows = self.store.detections(kind="news_article")
        return [ref for ref in map(story_ref_from_row, rows) if ref.first_seen >= since]

    def _identify(
        self, item: Item, det: Detection, now: datetime, stories: list[StoryRef]
    ) -> Detection:
        """The detection under the id of the story it belongs to (one story, one detection).

        Its own link (any variant) seen before wins; then a link already merged into a story;
        then a recent story with the same or a similar title about the same councils.
        """
        own = det.id
        key = item_story_key(item)
        found: str | None = own if self.store.detection(own) is not None else None
        if found is None and key:
            found = self.store.detection_id_for_story(key)
        ref = story_ref(item, det.councils, own, now)
        if found is None:
            found = find_story(ref, stories, now - STORY_MERGE_WINDOW)
        chosen = replace(det, id=found or own)
        if found is None:
            stories.append(ref)
        return chosen


def preview_source(settings: Settings, fetcher: Fetcher, cfg: SourceConfig) -> list[dict[str, Any]]:
    """What a source yields now, with the verdict on each item; nothing is stored."""
    source = build_source(cfg)
    ctx = PollContext(
        fetch=fetcher.view(source_policy(settings.http_policy(), cfg)),
        validators={},
        cursor={},
        watched=settings.watched,
        now=utcnow,
    )
    result = source.poll(ctx)
    matcher = Matcher(settings.watched)
    rows: list[dict[str, Any]] = []
    for item in result.items:
        cls = classify(item)
        match = matcher.match(item)
        rows.append(
            {
                "title": item.title,
                "url": item.url,
                "published": item.published.date().isoformat() if item.published else None,
                "relevant": cls.relevant,
                "report_type": cls.report_type,
                "judgement": cls.judgement,
                "councils": [c.short_name for c in match.councils],
                "evidence": [f"{e.where}: {e.text}" for e in match.evidence],
                "detect": cls.relevant and bool(match.councils),
            }
        )
    for report in result.reports:
        rows.append(
            {
                "title": report.label,
                "url": report.url,
                "published": report.published.isoformat() if report.published else None,
                "relevant": True,
                "report_type": report.report_type,
                "judgement": report.judgement,
                "councils": [report.council_name],
                "evidence": [],
                "detect": report.available and report.report_type in settings.report_types,
            }
        )
    return rows
