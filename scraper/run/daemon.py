"""`ofsted-watch run`: APScheduler around the pipeline and the dispatcher, with health, metrics,
signals, back-off, and leader election so several instances can share one PostgreSQL database.

Jobs are rebuilt from the configuration at start (MemoryJobStore, fixed ids): the durable part
is the alert queue and each source's `last_poll_at` in the database, never a pickled job store
(a restart must not flood the sites nor skip a poll). A restart after downtime therefore
polls each overdue source exactly once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scraper.alerts.dispatch import Dispatcher
from scraper.clock import LONDON, utcnow
from scraper.errors import ConfigError, ScraperError
from scraper.ingest.fetch import Fetcher
from scraper.run.health import Metrics, health_report
from scraper.run.leader import Leadership, leadership, migration_lock
from scraper.run.pipeline import Pipeline, SourceOutcome
from scraper.run.schedule import missed_run, source_interval, source_trigger
from scraper.run.watchdog import check_source, failing_sources
from scraper.settings.config import Settings
from scraper.settings.load import load_settings
from scraper.settings.schema import SourceConfig
from scraper.store import SourceState, Store

if TYPE_CHECKING:
    from scraper.web.app import LivePoll
    from scraper.web.server import WebServer

log = logging.getLogger(__name__)
LEADER_CHECK = 5.0  # seconds between leadership checks: takeover well within a minute
STOP_GRACE = 20.0  # seconds in-flight jobs get after SIGTERM before they are abandoned
MAX_BACKOFF = 8  # a failing source is polled at most 8x less often
Job = tuple[Callable[..., Any], Any, dict[str, Any]]


class Daemon:
    """One daemon process: standby until it holds the lock, then the active scheduler."""

    def __init__(
        self,
        config_path: str,
        *,
        now: Callable[[], datetime] = utcnow,
        leader_check: float = LEADER_CHECK,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.path = config_path
        self.now = now
        self.leader_check = leader_check
        self.stop_grace = stop_grace
        self.settings = load_settings(config_path)
        self.store = _open_store(self.settings.storage_url, self.settings.daemon.lock_id)
        self.fetcher = Fetcher(self.settings.http)
        self.metrics = Metrics(self.store)
        self.lock: Leadership = leadership(
            self.store.engine, self.settings.storage_url, self.settings.daemon.lock_id
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(self.settings.http.max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.role = "standby"
        self.started_at = now()
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.abandoned = 0
        self._wake = threading.Event()
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._backoff: dict[str, int] = {}  # source -> current back-off factor
        self._scheduled: dict[str, SourceConfig] = {}  # job id -> the source config it runs
        self._pipeline = Pipeline(self.settings, self.store, self.fetcher, now=now)
        self.health: WebServer | None = None  # the web view, with /healthz and /metrics
        self._last: dict[str, SourceOutcome] = {}  # source -> its last poll, for /sources

    # -- lifecycle ---------------------------------------------------------------------------
    def run(self) -> int:
        """Start, serve until stopped, shut down; signals are handled when on the main thread."""
        if threading.current_thread() is threading.main_thread():
            self.install_signals()
        self.start()
        self.serve()
        self.shutdown()
        return 0

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())

    def request_stop(self) -> None:
        self.stopping.set()
        self._wake.set()

    def request_reload(self) -> None:
        self.reload_requested.set()
        self._wake.set()

    def start(self) -> None:
        """Refuse a second daemon on one SQLite file, open /healthz, start the scheduler."""
        if self.store.dialect == "sqlite":
            self.lock.try_acquire()  # raises AlreadyRunningError naming the file
        listen = self.settings.daemon.listen
        if listen:
            self.health = self._web_server(listen)
            self.health.start()
        self.scheduler.start()
        log.info(
            "daemon started pid=%d config=%s sources=%d",
            os.getpid(),
            self.path,
            len(self.settings.sources),
            extra={"event": "started", "pid": os.getpid()},
        )

    def _web_server(self, listen: str) -> WebServer:
        """The web view on `listen`; imported here so commands that serve nothing never load it."""
        from scraper.web.app import Context
        from scraper.web.server import WebServer

        ctx = Context(
            settings=lambda: self.settings,
            store=self.store.reader(),
            now=self.now,
            health=self._health,
            metrics=self.metrics.render,
            live=self._live,
        )
        return WebServer(listen, ctx)

    def _live(self) -> dict[str, LivePoll]:
        """What the web view's /sources shows beyond the database: the last poll, the next one."""
        from scraper.web.app import LivePoll

        jobs = {job.id: job.next_run_time for job in self.scheduler.get_jobs()}
        out = {}
        for cfg in self.settings.sources:
            last = self._last.get(cfg.name)
            out[cfg.name] = LivePoll(
                requests=last.requests if last else None,
                items=last.items if last else None,
                next_poll=jobs.get(f"poll:{cfg.name}"),
            )
        return out

    def serve(self) -> None:
        """The main loop: leadership checks and reloads until a stop is requested."""
        while not self.stopping.is_set():
            self._check_leadership()
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            self._wake.wait(self.leader_check)
            self._wake.clear()

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
        self._sync_jobs()
        self.role = "active"  # only once its jobs exist: /healthz and tests read the role
        log.info(
            "daemon role=active pid=%d: scheduling %d source(s)",
            os.getpid(),
            len(self.settings.sources),
            extra={"event": "role", "role": "active", "pid": os.getpid()},
        )

    def _become_standby(self) -> None:
        self.role = "standby"
        self.scheduler.remove_all_jobs()
        self._scheduled = {}
        log.warning(
            "daemon role=standby pid=%d: stopped scheduling",
            os.getpid(),
            extra={"event": "role", "role": "standby", "pid": os.getpid()},
        )

    def shutdown(self) -> None:
        """Stop scheduling, let in-flight work finish for a while, hand back claimed alerts."""
        log.info("daemon stopping pid=%d", os.getpid())
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.stop_grace
        while self._busy() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.abandoned = self._busy()
        released = Dispatcher(self.settings, self.store).release()
        self.lock.release()
        if self.health:
            self.health.stop()
        log.info(
            "daemon stopped released_alerts=%d abandoned_jobs=%d",
            released,
            self.abandoned,
            extra={"event": "stopped", "released": released, "abandoned": self.abandoned},
        )
        if not self.abandoned:  # worker threads still running would use them
            self.fetcher.close()
            self.store.close()

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
        _warn_restart_only(self.settings, new)
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
        """Make the scheduler's jobs match the configuration; unchanged sources keep their slot."""
        wanted = self._wanted_jobs()
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        configs = {f"poll:{s.name}": s for s in self.settings.sources}
        existing = {job.id for job in self.scheduler.get_jobs()}
        for job_id, (func, trigger, kwargs) in wanted.items():
            cfg = configs.get(job_id)
            if cfg is not None and job_id in existing and self._scheduled.get(job_id) == cfg:
                continue
            self.scheduler.add_job(func, trigger, id=job_id, replace_existing=True, **kwargs)
        self._scheduled = configs

    def _wanted_jobs(self) -> dict[str, Job]:
        states = {s.name: s for s in self.store.states()}
        now = self.now()
        jobs = {
            f"poll:{cfg.name}": self._poll_spec(cfg, states.get(cfg.name), now)
            for cfg in self.settings.sources
        }
        alert_every = self.settings.daemon.alert_every.total_seconds()
        jobs["dispatch"] = (
            self._dispatch_job,
            IntervalTrigger(seconds=alert_every, timezone=UTC),
            {"next_run_time": now, "misfire_grace_time": max(1, int(alert_every))},
        )
        for ch in self.settings.channels:
            digest = getattr(ch, "digest", "off")
            if digest != "off":
                hh, mm = (int(x) for x in str(getattr(ch, "digest_at", "08:00")).split(":"))
                dow = "mon" if digest == "weekly" else "*"
                trigger = CronTrigger(hour=hh, minute=mm, day_of_week=dow, timezone=LONDON)
                jobs[f"digest:{ch.name}"] = (
                    self._digest_job,
                    trigger,
                    {"misfire_grace_time": 3600},
                )
        return jobs

    def _poll_spec(self, cfg: SourceConfig, state: SourceState | None, now: datetime) -> Job:
        """One job per source; the first run comes from the stored last poll, so a restart
        neither skips nor repeats one."""
        every = source_interval(cfg, now)
        kwargs: dict[str, Any] = {"args": [cfg.name], "misfire_grace_time": max(1, int(every / 2))}
        last = state.last_poll_at if state else None
        if missed_run(cfg, last, now):
            kwargs["next_run_time"] = now  # one catch-up poll, however many runs were missed
        elif last is not None and not cfg.cron:
            # A new leader does not re-poll what the old one polled moments ago.
            kwargs["next_run_time"] = last + timedelta(seconds=every)
        return (self._poll_job, source_trigger(cfg), kwargs)

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
        def work() -> None:
            self.poll(name)

        self._tracked(work)

    def poll(self, name: str) -> SourceOutcome | None:
        """Poll one configured source now; metrics, back-off and a prompt dispatch follow."""
        cfg = next((s for s in self.settings.sources if s.name == name), None)
        if cfg is None:
            return None
        self.fetcher.begin_cycle()  # a robots.txt failure blocks a host for one poll only
        outcome = self._pipeline.poll_source(cfg)
        self._last[name] = outcome
        self.metrics.observe(outcome, self.now())
        self._apply_backoff(cfg, outcome)
        check_source(self.settings, self.store, cfg, self.now())
        if outcome.new:
            self._reschedule("dispatch", self.now())
        return outcome

    def _apply_backoff(self, cfg: SourceConfig, o: SourceOutcome) -> None:
        """A source that keeps failing is polled less often, and recovers by itself."""
        if o.partial:
            # One Ofsted council failing while the rest is read: slowing the source down would
            # delay every other council's reports, so it keeps its normal schedule.
            self._backoff.pop(cfg.name, None)
            return
        if o.ok:
            if self._backoff.pop(cfg.name, None) is not None:
                log.info("source=%s recovered; back to its normal schedule", cfg.name)
            return
        failures = self.store.load_state(cfg.name).consecutive_failures
        if failures < 2 or cfg.cron:
            return
        factor = min(2 ** (failures - 1), MAX_BACKOFF)
        self._backoff[cfg.name] = factor
        wait = source_interval(cfg) * factor
        self._reschedule(f"poll:{cfg.name}", self.now() + timedelta(seconds=wait))
        log.warning(
            "source=%s failing consecutive_failures=%d backing off: next poll in %ds",
            cfg.name,
            failures,
            int(wait),
            extra={"source": cfg.name, "backoff_factor": factor, "next_poll_in": wait},
        )

    def _reschedule(self, job_id: str, when: datetime) -> None:
        try:
            self.scheduler.modify_job(job_id, next_run_time=when)
        except JobLookupError:  # removed by a reload, or this daemon stood down meanwhile
            log.debug("job %s is gone; not rescheduled", job_id)

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
        now = self.now()
        intervals = {
            s.name: source_interval(s, now) * self._backoff.get(s.name, 1)
            for s in self.settings.sources
        }
        status, detail = health_report(
            self.store,
            running=self.scheduler.running and not self.stopping.is_set(),
            role=self.role,
            intervals=intervals,
            now=now,
            started_at=self.started_at,
            failing=[f.name for f in failing_sources(self.settings, self.store, now)],
        )
        detail["pid"] = os.getpid()
        for name, factor in self._backoff.items():
            if name in detail.get("sources", {}):
                detail["sources"][name]["backoff_factor"] = factor
        return status, detail


def _open_store(url: str, lock_id: int) -> Store:
    """Open and migrate; on PostgreSQL replicas starting together migrate one at a time."""
    store = Store.open(url, migrate=False)
    with migration_lock(store.engine, lock_id + 1):
        from scraper.store.db import upgrade

        upgrade(store.engine)
    return store


def _warn_restart_only(old: Settings, new: Settings) -> None:
    if old.storage_url != new.storage_url:
        log.warning("reload: [storage] changes take effect only after a restart")
    if old.daemon != new.daemon:
        log.warning("reload: [daemon] changes take effect only after a restart")


def run_daemon(config_path: str) -> int:
    """The `run` command: exit 0 after a clean stop, even if stuck jobs had to be abandoned."""
    daemon = Daemon(config_path)
    code = daemon.run()
    if daemon.abandoned:
        # Worker threads cannot be interrupted; what they were doing is uncommitted or will be
        # resent from the queue under the same ids, so leaving now loses nothing.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    return code
