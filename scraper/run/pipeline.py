"""run_once(): fetch -> parse -> classify -> match -> store -> queue. The only module that
imports every stage. One source's failure is recorded and never stops the others."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from scraper import failpoints
from scraper.alerts.routing import router
from scraper.clock import Clock, iso_utc, utcnow
from scraper.errors import HostDeferredError, ScraperError
from scraper.ingest.fetch import Fetcher
from scraper.ingest.sources import build_source, poll_counted, source_policy
from scraper.ingest.sources.feed import BODY_HASH
from scraper.judge.detect import StoryIndex, item_story_key, story_ref_from_row, title_key
from scraper.judge.verdict import Judge, Verdict
from scraper.models import Detection, Item, PollContext, Report, SourceResult
from scraper.settings.config import Settings
from scraper.settings.schema import OfstedSourceConfig, SourceConfig
from scraper.store import Deferral, PollRecord, SourceState, Store

log = logging.getLogger(__name__)
HELD_KEY = "held_incomplete"  # cursor key: items held back for lacking a link or title
# Quiet polls per transaction: a few disk syncs per fetch instead of one per source, without
# holding a whole first poll's items in memory until the end (10,000 items: ~10 MB).
QUIET_CHUNK = 50
STORY_MERGE_WINDOW = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class SourceOutcome:
    """One line of the fetch summary."""

    name: str
    # "ok", "not_modified", "baseline", "deferred" (host's Retry-After), "failed" (perhaps
    # with the rest of the poll stored)
    status: str
    items: int = 0
    new: tuple[Detection, ...] = ()
    duration: float = 0.0
    error: str | None = None
    requests: int = 0
    partial: bool = False  # failed in part: the rest was read and stored

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
        self.judge = judge_for(settings)
        self.routes = router(settings.alert_channels)
        # Stories registered by this process's polls, until the database answers for them.
        self._claimed = StoryIndex()
        self._claimed_lock = threading.Lock()
        self._quiet_lock = threading.Lock()

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
        self._honour_deferrals(self.store.states())
        workers = max(1, min(self.settings.http_policy().max_workers, len(sources)))
        quiet: list[tuple[PollRecord, SourceState]] | None = None if dry_run else []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
            futures = {
                s.name: pool.submit(
                    self.poll_source,
                    s,
                    dry_run=dry_run,
                    full_history=full_history,
                    alert=alert,
                    quiet=quiet,
                )
                for s in interleave_hosts(sources)
            }
            outcomes = tuple(futures[s.name].result() for s in sources)
        if quiet:
            self._store_quiet(quiet, at_least=1)
        return RunSummary(outcomes, tuple(d for o in outcomes for d in o.new))

    def poll_source(
        self,
        cfg: SourceConfig,
        *,
        dry_run: bool = False,
        full_history: bool = False,
        alert: bool = True,
        quiet: list[tuple[PollRecord, SourceState]] | None = None,
    ) -> SourceOutcome:
        """Poll and store one source. With `quiet`, a poll that found nothing to alert on is
        appended there for the caller to store with the others (run_once does)."""
        started = time.monotonic()
        state = self.store.load_state(cfg.name)
        self._honour_deferrals([state])
        try:
            result = self._poll(cfg, state, full_history)
            baseline = (state.needs_baseline and not full_history) or not alert
            return self._record(
                cfg, state, result, started, dry_run=dry_run, baseline=baseline, quiet=quiet
            )
        except HostDeferredError as exc:
            if not exc.asked:  # nothing was sent, so nothing failed: the state stays as it is
                return self._deferred(cfg.name, exc, started)
            deferral = Deferral(exc.host, exc.until)
            return self._failed(cfg.name, str(exc), started, dry_run, deferral)
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
            seen=lambda: self.store.seen_keys(cfg.name),  # only new items are judged and stored
        )
        return poll_counted(source, ctx)

    def _honour_deferrals(self, states: Sequence[SourceState]) -> None:
        """Hosts that asked an earlier run (Retry-After) to stay away are not asked now."""
        now = self.now()
        for state in states:
            if state.not_before and state.not_before_host and state.not_before > now:
                seconds = (state.not_before - now).total_seconds()
                self.fetcher.defer_host(state.not_before_host, seconds)

    def _deferred(self, name: str, exc: HostDeferredError, started: float) -> SourceOutcome:
        duration = time.monotonic() - started
        error = f"not polled: {exc.host} asked (Retry-After) to wait until {iso_utc(exc.until)}"
        log.warning(
            "poll source=%s status=deferred host=%s until=%s",
            name,
            exc.host,
            iso_utc(exc.until),
            extra={"source": name, "status": "deferred", "duration": round(duration, 3)},
        )
        return SourceOutcome(name, "deferred", duration=duration, error=error)

    def _failed(
        self,
        name: str,
        error: str,
        started: float,
        dry_run: bool,
        deferral: Deferral | None = None,
    ) -> SourceOutcome:
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
            self.store.record_failure(name, error, self.now(), deferral)
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
        quiet: list[tuple[PollRecord, SourceState]] | None = None,
    ) -> SourceOutcome:
        now = self.now()
        record = self._detect(result, now, baseline=baseline, dry_run=dry_run, state=state)
        if quiet is not None and not (record.detections or record.reports or result.errors):
            quiet.append((record, state))  # a crash before it is stored loses only this work
            self._store_quiet(quiet, at_least=QUIET_CHUNK)
            new: list[Detection] = []
        else:
            new = self._store_now(record, state, now, dry_run=dry_run)
        status = (
            "failed"  # in part: what was read is stored, the failed parts are retried
            if result.errors
            else "not_modified"
            if result.not_modified
            else ("baseline" if state.needs_baseline else "ok")
        )
        error = "; ".join(result.errors) or None
        if error:
            log.warning("source=%s failed in part, the rest stored: %s", cfg.name, error)
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
            cfg.name,
            status,
            count,
            tuple(new),
            duration,
            error=error,
            requests=result.requests,
            partial=bool(result.errors),
        )

    def _store_quiet(self, quiet: list[tuple[PollRecord, SourceState]], *, at_least: int) -> None:
        """Store the quiet polls gathered so far in one transaction (one disk sync for all),
        once there are `at_least` of them; polls appended meanwhile wait for the next one."""
        with self._quiet_lock:
            chunk = quiet[:]
            if len(chunk) < at_least:
                return
            del quiet[: len(chunk)]
        self.store.record_polls(chunk, now=self.now(), routes=self.routes)

    def _store_now(
        self, record: PollRecord, state: SourceState, now: datetime, *, dry_run: bool
    ) -> list[Detection]:
        if not dry_run:
            failpoints.hit("after_detect")
        new = self.store.record_poll(
            record, old=state, now=now, routes=self.routes, dry_run=dry_run
        )
        if not dry_run:
            failpoints.hit("after_commit")
        return new

    def _detect(
        self,
        result: SourceResult,
        now: datetime,
        *,
        baseline: bool,
        dry_run: bool,
        state: SourceState | None = None,
    ) -> PollRecord:
        """Items and reports -> detections, through the one judging path and story identity."""
        judged = [(item, self.judge.item(item, now)) for item in result.items]
        found = [(item, v.detection) for item, v in judged if v.detection is not None]
        if not baseline and not result.not_modified:
            old = state.cursor if state is not None else {}
            found, held = _hold_incomplete(result.source, found, old.get(HELD_KEY) or ())
            if held or old.get(HELD_KEY):
                base = dict(result.cursor if result.cursor is not None else old)
                kept_items = tuple(i for i in result.items if i.key not in held)
                cursor = {**base, HELD_KEY: sorted(held)}
                if held:  # an identical body must still be read next poll, for the second look
                    cursor.pop(BODY_HASH, None)
                result = replace(result, cursor=cursor, items=kept_items)
        ids = self._identify(found, now, dry_run=dry_run)
        dets: dict[str, tuple[Detection, str | None]] = {}
        for (item, _), det in zip(found, ids, strict=True):
            dets.setdefault(det.id, (det, title_key(item.title, item.publisher)))
        by_item = {id(item): det.id for (item, _), det in zip(found, ids, strict=True)}
        items = [(item, item_story_key(item), by_item.get(id(item))) for item in result.items]
        for report in result.reports:
            verdict = self.judge.report(report, source=result.source, now=now)
            if verdict.detection is not None:
                dets.setdefault(verdict.detection.id, (verdict.detection, None))
        reports = [(r, self._gss(r)) for r in result.reports]
        return PollRecord(result, items, reports, list(dets.values()), baseline)

    def _identify(
        self, found: Sequence[tuple[Item, Detection]], now: datetime, *, dry_run: bool
    ) -> list[Detection]:
        """Each detection under its story's id, from an index loaded once for this poll.

        The database answers for what is stored; `_claimed` for stories this process registered
        in a concurrent poll and may not have committed yet (one story reaching two feeds in one
        cycle must alert once). Only the in-memory merge is under the lock, never a query.
        """
        if not found:
            return []
        since = now - STORY_MERGE_WINDOW
        index = StoryIndex(
            known=self.store.known_detection_ids([d.id for _, d in found]),
            by_key=self.store.detections_by_story(
                [k for k in (item_story_key(i) for i, _ in found) if k]
            ),
            recent=[story_ref_from_row(row) for row in self.store.recent_news(since)],
        )
        with self._claimed_lock:
            index.absorb(self._claimed)
            identified = [index.identify(item, det, now, since) for item, det in found]
            if not dry_run:
                self._claimed.absorb(index)
                self._claimed.forget_before(since)
        return identified

    def _gss(self, report: Report) -> str | None:
        council = self.judge.council_for(report)
        return council.gss_code if council else None


def judge_for(settings: Settings) -> Judge:
    """The watchlist's one judge, with its local aliases and the sources' own councils."""
    return Judge(
        settings.watched,
        settings.report_types,
        aliases=settings.aliases,
        source_councils=settings.source_councils,
    )


def _hold_incomplete(
    source: str, found: list[tuple[Item, Detection]], held_before: Collection[str]
) -> tuple[list[tuple[Item, Detection]], set[str]]:
    """Detections without their item's link or title wait one poll for the whole item.

    A feed cut mid-item (a truncated response still parses) yields an item without a link;
    alerting it would send a story nobody can open, and the whole item arriving later merges
    into it unsent. So it is left unstored and its key kept in the source's cursor; if the next
    poll still lacks the link or title, what is there is alerted. Returns (kept, held keys).
    """
    kept, held = [], set()
    for item, det in found:
        if not item.url or not item.title.strip():
            hold = item.key not in held_before
            log.warning(
                "source=%s %s item without its %s key=%s",
                source,
                "holding until the next poll an" if hold else "alerting, still incomplete, an",
                "link" if not item.url else "title",
                item.key,
            )
            if hold:
                held.add(item.key)
                continue
        kept.append((item, det))
    return kept, held


def preview_source(
    settings: Settings, fetcher: Fetcher, cfg: SourceConfig, *, now: Clock = utcnow
) -> list[dict[str, Any]]:
    """What a source yields now, with the verdict and its reason on each item; nothing stored.

    It judges through `Judge`, as a real poll does, so `DETECT` here means a poll would detect
    it (story identity and the baseline aside).
    """
    ctx = PollContext(
        fetch=fetcher.view(source_policy(settings.http_policy(), cfg)),
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
