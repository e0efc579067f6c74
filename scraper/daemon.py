"""`ofsted-watch run`: APScheduler around the pipeline and the dispatcher, with health, metrics,
signals, back-off, and leader election so several instances can share one PostgreSQL database.

Jobs are rebuilt from the configuration at start (MemoryJobStore, fixed ids): the durable part
is the alert queue in the database, never a pickled job store (reliability.md 3, 5).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scraper.config import load_settings, parse_duration
from scraper.dispatch import Dispatcher
from scraper.errors import ConfigError, ScraperError
from scraper.fetch import Fetcher
from scraper.health import HealthServer, Metrics, health_report
from scraper.leader import Leadership, leadership
from scraper.pipeline import Pipeline, SourceOutcome
from scraper.sources import SourceConfig
from scraper.store import Store

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
DEFAULT_EVERY = 3600.0
LEADER_CHECK = 5.0  # seconds between leadership checks: takeover well within a minute
STOP_GRACE = 20.0  # seconds in-flight jobs get after SIGTERM before they are abandoned
MAX_BACKOFF = 8  # a failing source is polled at most 8x less often


def utcnow() -> datetime:
    return datetime.now(UTC)


def source_every(cfg: SourceConfig) -> float:
    return parse_duration(cfg.every) if cfg.every else DEFAULT_EVERY


def source_trigger(cfg: SourceConfig) -> IntervalTrigger | CronTrigger:
    """`every` with ~10 % jitter, or `cron` read in Europe/London."""
    if cfg.cron:
        return CronTrigger.from_crontab(cfg.cron, timezone=LONDON)
    every = source_every(cfg)
    return IntervalTrigger(seconds=every, jitter=max(0.0, min(every * 0.1, 300.0)), timezone=UTC)


class Daemon:
    """One daemon process: standby until it holds the lock, then the active scheduler."""

    def __init__(self, config_path: str, *, now: Callable[[], datetime] = utcnow) -> None:
        self.path = config_path
        self.now = now
        self.settings = load_settings(config_path)
        self.store = Store.open(self.settings.storage_url)
        self.fetcher = Fetcher(self.settings.http_policy())
        self.metrics = Metrics(self.store)
        self.lock: Leadership = leadership(
            self.store.engine, self.settings.storage_url, self.settings.raw.daemon.lock_id
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(self.settings.http_policy().max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.role = "standby"
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._not_before: dict[str, datetime] = {}
        self._pipeline = Pipeline(self.settings, self.store, self.fetcher, now=now)
        self.health: HealthServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def run(self) -> int:
        if self.store.dialect == "sqlite":
            self.lock.try_acquire()  # raises AlreadyRunningError: one daemon per SQLite file
        self._install_signals()
        listen = self.settings.raw.daemon.listen
        if listen:
            self.health = HealthServer(listen, self._health, self.metrics)
            self.health.start()
        self.scheduler.start()
        log.info(
            "daemon started pid=%d config=%s sources=%d",
            os.getpid(),
            self.path,
            len(self.settings.sources),
        )
        while not self.stopping.is_set():
            self._check_leadership()
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            self.stopping.wait(LEADER_CHECK)
        return self.shutdown()

    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())

    def _check_leadership(self) -> None:
        try:
            if self.role == "standby" and self.lock.try_acquire():
                self._become_active()
            elif self.role == "active" and not self.lock.still_held():
                self._become_standby()
        except ScraperError:
            raise
        except Exception:  # the database is unreachable: stay (or become) standby, retry later
            log.warning("leader check failed; will retry", exc_info=True)
            if self.role == "active":
                self._become_standby()

    def _become_active(self) -> None:
        self.role = "active"
        log.info("daemon role=active: scheduling %d source(s)", len(self.settings.sources))
        self._sync_jobs()

    def _become_standby(self) -> None:
        self.role = "standby"
        self.scheduler.remove_all_jobs()
        log.warning("daemon role=standby: stopped scheduling")

    def shutdown(self) -> int:
        """Stop scheduling, let in-flight work finish for a while, hand back claimed alerts."""
        log.info("daemon stopping")
        self.scheduler.shutdown(wait=False)
        deadline = self.now() + timedelta(seconds=STOP_GRACE)
        while self._busy() and self.now() < deadline:
            threading.Event().wait(0.2)
        released = Dispatcher(self.settings, self.store).release()
        self.lock.release()
        if self.health:
            self.health.stop()
        abandoned = self._busy()
        log.info("daemon stopped released_alerts=%d abandoned_jobs=%d", released, abandoned)
        if abandoned:
            # Worker threads cannot be interrupted; what they were doing is not committed and
            # the queue will resend under the same ids, so leaving now loses nothing.
            logging.shutdown()
            sys.stdout.flush()
            os._exit(0)
        self.fetcher.close()
        self.store.close()
        return 0

    def _busy(self) -> int:
        with self._inflight_lock:
            return self._inflight

    # -- configuration -----------------------------------------------------------------------
    def reload(self) -> None:
        """SIGHUP: take a valid new configuration; refuse an invalid one and keep the old."""
        try:
            new = load_settings(self.path)
        except ConfigError as exc:
            log.error("reload refused, keeping the old configuration: %s", exc)
            return
        old_sources = {s.name for s in self.settings.sources}
        new_sources = {s.name for s in new.sources}
        self.settings = new
        self._pipeline = Pipeline(new, self.store, self.fetcher, now=self.now)
        log.info(
            "configuration reloaded sources_added=%s sources_removed=%s channels=%s",
            sorted(new_sources - old_sources),
            sorted(old_sources - new_sources),
            [c.name for c in new.channels],
        )
        if self.role == "active":
            self._sync_jobs()

    def _sync_jobs(self) -> None:
        wanted = self._wanted_jobs()
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        for job_id, (func, trigger, kwargs) in wanted.items():
            self.scheduler.add_job(func, trigger, id=job_id, replace_existing=True, **kwargs)

    def _wanted_jobs(self) -> dict[str, tuple[Callable[..., Any], Any, dict[str, Any]]]:
        jobs: dict[str, tuple[Callable[..., Any], Any, dict[str, Any]]] = {}
        states = {s.name: s for s in self.store.states()}
        for cfg in self.settings.sources:
            every = source_every(cfg)
            kwargs: dict[str, Any] = {
                "args": [cfg.name],
                "misfire_grace_time": max(1, int(every / 2)),
            }
            if not cfg.cron:
                last = states[cfg.name].last_poll_at if cfg.name in states else None
                # A new leader does not re-poll what the old one polled moments ago.
                kwargs["next_run_time"] = (
                    max(self.now(), last + timedelta(seconds=every)) if last else self.now()
                )
            jobs[f"poll:{cfg.name}"] = (self._poll_job, source_trigger(cfg), kwargs)
        alert_every = parse_duration(self.settings.raw.daemon.alert_every)
        jobs["dispatch"] = (
            self._dispatch_job,
            IntervalTrigger(seconds=alert_every, timezone=UTC),
            {"next_run_time": self.now(), "misfire_grace_time": max(1, int(alert_every))},
        )
        for ch in self.settings.channels:
            if getattr(ch, "digest", "off") != "off":
                hh, mm = (int(x) for x in ch.digest_at.split(":"))  # type: ignore[union-attr]
                dow = "mon" if ch.digest == "weekly" else "*"  # type: ignore[union-attr]
                trigger = CronTrigger(hour=hh, minute=mm, day_of_week=dow, timezone=LONDON)
                jobs[f"digest:{ch.name}"] = (
                    self._digest_job,
                    trigger,
                    {"misfire_grace_time": 3600},
                )
        return jobs

    # -- jobs --------------------------------------------------------------------------------
    def _tracked(self, fn: Callable[[], None]) -> None:
        with self._inflight_lock:
            self._inflight += 1
        try:
            if not self.stopping.is_set():
                fn()
        except Exception:  # one job's failure never stops the daemon
            log.exception("job failed")
        finally:
            with self._inflight_lock:
                self._inflight -= 1

    def _poll_job(self, name: str) -> None:
        self._tracked(lambda: self._poll(name))

    def _poll(self, name: str) -> None:
        cfg = next((s for s in self.settings.sources if s.name == name), None)
        if cfg is None:
            return
        not_before = self._not_before.get(name)
        if not_before and self.now() < not_before:
            log.debug("source=%s backing off until %s", name, not_before.isoformat())
            return
        outcome = self._pipeline.poll_source(cfg)
        self._observe(outcome)
        self._backoff(cfg, outcome)
        if outcome.new:
            job = self.scheduler.get_job("dispatch")
            if job:
                job.modify(next_run_time=self.now())

    def _observe(self, o: SourceOutcome) -> None:
        m = self.metrics
        m.polls.labels(o.name, o.status).inc()
        m.latency.labels(o.name).observe(o.duration)
        m.items.labels(o.name).inc(o.items)
        if o.ok:
            m.last_success.labels(o.name).set(self.now().timestamp())
        else:
            m.failures.labels(o.name).inc()
        for det in o.new:
            m.detections.labels(o.name, det.kind).inc()

    def _backoff(self, cfg: SourceConfig, o: SourceOutcome) -> None:
        """A source that keeps failing is polled less often, and recovers by itself."""
        if o.ok:
            if self._not_before.pop(cfg.name, None) is not None:
                log.info("source=%s recovered; back to its normal schedule", cfg.name)
            return
        failures = self.store.load_state(cfg.name).consecutive_failures
        if failures < 2:
            return
        factor = min(2 ** (failures - 1), MAX_BACKOFF)
        wait = source_every(cfg) * (factor - 1)
        self._not_before[cfg.name] = self.now() + timedelta(seconds=wait)
        log.warning(
            "source=%s failing consecutive_failures=%d backing off: next poll in about %ds",
            cfg.name,
            failures,
            int(wait + source_every(cfg)),
        )

    def _dispatch_job(self) -> None:
        def work() -> None:
            d = Dispatcher(self.settings, self.store, now=self.now)
            d.dispatch_due()
            d.dispatch_digests()

        self._tracked(work)

    def _digest_job(self) -> None:
        def work() -> None:
            Dispatcher(self.settings, self.store, now=self.now).dispatch_digests()

        self._tracked(work)

    # -- health ------------------------------------------------------------------------------
    def _health(self) -> tuple[int, dict[str, Any]]:
        intervals = {s.name: source_every(s) for s in self.settings.sources}
        return health_report(
            self.store,
            running=self.scheduler.running and not self.stopping.is_set(),
            role=self.role,
            intervals=intervals,
            now=self.now(),
        )


def run_daemon(config_path: str) -> int:
    return Daemon(config_path).run()
