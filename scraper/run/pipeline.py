"""run_once(): fetch -> parse -> classify -> match -> store -> queue. The only module that
imports every stage. One source's failure is recorded and never stops the others."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from scraper import failpoints
from scraper.alerts.routing import router
from scraper.clock import Clock, iso_utc, utcnow
from scraper.errors import HostDeferredError, ScraperError
from scraper.ingest.fetch import Fetcher
from scraper.ingest.sources import build_source, poll_counted, source_policy
from scraper.ingest.sources.feed import BODY_HASH
from scraper.judge.detect import item_story_key, title_key
from scraper.judge.verdict import Judge
from scraper.models import Detection, HttpPolicy, PollContext, Report, Source, SourceResult
from scraper.run.intake import newly_watched, remember_watchlist, take_in_news
from scraper.run.stories import HELD_KEY, StoryIdentity, hold_incomplete
from scraper.settings.config import Settings
from scraper.settings.schema import OfstedSourceConfig, SourceConfig
from scraper.store import Deferral, PollRecord, SourceState, Store

log = logging.getLogger(__name__)
# Quiet polls per transaction: a few disk syncs per fetch instead of one per source, without
# holding a whole first poll's items in memory until the end (10,000 items: ~10 MB).
QUIET_CHUNK = 50


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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a poll, with the sources that had finished (stored) by then."""

    def __init__(self, summary: RunSummary, total: int) -> None:
        super().__init__()
        self.summary = summary
        self.total = total


class Pipeline:
    """Polls configured sources and records what they yield."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        fetcher: Fetcher,
        *,
        now: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.now = now
        self.judge = judge_for(settings)
        self.routes = router(settings.alert_channels)
        self.stories = StoryIdentity(store)
        self._quiet_lock = threading.Lock()
        self._sources: dict[str, tuple[SourceConfig, Source, HttpPolicy]] = {}
        self._built_lock = threading.Lock()
        for cfg in settings.sources:
            self._built(cfg)

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
        workers = max(1, min(self.settings.http.max_workers, len(sources)))
        quiet: list[tuple[PollRecord, SourceState]] | None = None if dry_run else []
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll")
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
        try:
            outcomes = tuple(futures[s.name].result() for s in sources)
        except KeyboardInterrupt:
            # Ctrl-C: stop waiting for sources still fetching (they may be stuck on a slow
            # server); what finished is stored, and is reported as the partial result.
            pool.shutdown(wait=False, cancel_futures=True)
            if quiet:
                self._store_quiet(quiet, at_least=1)
            done = [futures[s.name] for s in sources]
            finished = tuple(f.result() for f in done if f.done() and not f.cancelled())
            raise Interrupted(RunSummary(finished, ()), len(sources)) from None
        pool.shutdown()
        if quiet:  # one transaction, so one disk sync, for the quiet polls not yet stored
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
            newly = newly_watched(cfg.type, state.cursor, self.settings.watched)
            known = self.store.seen_keys(cfg.name) if newly else frozenset()
            result = self._poll(cfg, state, full_history, reread=bool(newly))
            first = state.needs_baseline and not full_history
            baseline = first or not alert
            # A first poll and a newly watched council's history are silent but for what the
            # lookback still calls news; a backfill without --alert is silent throughout.
            lookback = alert and (first or bool(result.intake))
            return self._record(
                cfg,
                state,
                result,
                started,
                dry_run=dry_run,
                baseline=baseline,
                lookback=lookback,
                quiet=quiet,
                known=known,
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

    def _built(self, cfg: SourceConfig) -> tuple[Source, HttpPolicy]:
        """The source object and its fetch policy, built once per configuration (a reload
        makes a new Pipeline), not on every poll."""
        with self._built_lock:
            built = self._sources.get(cfg.name)
            if built is None or built[0] != cfg:
                built = (cfg, build_source(cfg), source_policy(self.settings.http, cfg))
                self._sources[cfg.name] = built
        return built[1], built[2]

    def _poll(
        self, cfg: SourceConfig, state: SourceState, full_history: bool, *, reread: bool = False
    ) -> SourceResult:
        """One poll of a source. `reread` (the watchlist grew) asks for the whole feed again and
        judges every item in it, stored before or not."""
        source, policy = self._built(cfg)
        cursor = {k: v for k, v in state.cursor.items() if k != BODY_HASH or not reread}
        ctx = PollContext(
            fetch=self.fetcher.view(policy),
            validators={} if reread else state.validators,
            cursor=cursor,
            watched=self.settings.watched,
            now=self.now,
            full_history=full_history,
            # only new items are judged and stored, unless the watchlist grew
            seen=frozenset if reread else (lambda: self.store.seen_keys(cfg.name)),
        )
        result = poll_counted(source, ctx)
        return remember_watchlist(cfg.type, result, state.cursor, self.settings.watched)

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
        lookback: bool = False,
        quiet: list[tuple[PollRecord, SourceState]] | None = None,
        known: Collection[str] = frozenset(),
    ) -> SourceOutcome:
        now = self.now()
        record = self._detect(result, now, baseline=baseline, dry_run=dry_run, state=state)
        if lookback:
            record = self._intake(record, now)
        if known:  # items re-read for a newly watched council
            record = take_in_news(record, known, self.settings.lookback, now)
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
        for w in result.warnings:  # the same words every poll: news once per process
            log.warning("source=%s %s", cfg.name, w, extra={"once": True})
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
            found, held = hold_incomplete(result.source, found, old.get(HELD_KEY) or ())
            if held or old.get(HELD_KEY):
                base = dict(result.cursor if result.cursor is not None else old)
                kept_items = tuple(i for i in result.items if i.key not in held)
                cursor = {**base, HELD_KEY: sorted(held)}
                if held:  # an identical body must still be read next poll, for the second look
                    cursor.pop(BODY_HASH, None)
                result = replace(result, cursor=cursor, items=kept_items)
        ids = self.stories.identify(found, now, dry_run=dry_run)
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

    def _intake(self, record: PollRecord, now: datetime) -> PollRecord:
        """Newly watched councils' reports are silent; anything published within the
        `[watchlist] lookback` alerts even in a baseline."""
        intake = set(record.result.intake)
        silent = frozenset(
            det.id
            for det, _ in record.detections
            if det.kind == "ofsted_report" and any(c.ofsted_urn in intake for c in det.councils)
        )
        since = (now - self.settings.lookback).date()
        loud = frozenset(
            det.id
            for det, _ in record.detections
            if self.settings.lookback and det.published is not None and det.published >= since
        )
        return replace(record, silent=silent, loud=loud)

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
