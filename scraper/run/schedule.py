"""When each source is polled: APScheduler triggers from `every`/`cron`, the interval a cron
implies (for staleness), and whether a restart owes a source its one catch-up poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scraper.clock import LONDON, utcnow
from scraper.settings.schema import DEFAULT_EVERY as DEFAULT_SOURCE_EVERY
from scraper.settings.schema import SourceConfig

DEFAULT_EVERY = DEFAULT_SOURCE_EVERY.total_seconds()
JITTER = 0.1  # up to 10 % of the interval (APScheduler adds 0..jitter: 5 % on average)


def source_trigger(cfg: SourceConfig) -> IntervalTrigger | CronTrigger:
    """`every` with jitter, or `cron` read in Europe/London."""
    if cfg.cron:
        return CronTrigger.from_crontab(cfg.cron, timezone=LONDON)
    every = cfg.every.total_seconds() if cfg.every else DEFAULT_EVERY
    return IntervalTrigger(seconds=every, jitter=every * JITTER, timezone=UTC)


def source_interval(cfg: SourceConfig, now: datetime | None = None) -> float:
    """Seconds between polls; for a cron, the longest gap over the next eight days."""
    if not cfg.cron:
        return cfg.every.total_seconds() if cfg.every else DEFAULT_EVERY
    trigger = CronTrigger.from_crontab(cfg.cron, timezone=LONDON)
    t = now or utcnow()
    end = t + timedelta(days=8)
    prev = trigger.get_next_fire_time(None, t)
    longest = 0.0
    for _ in range(2000):
        if prev is None or prev > end:
            break
        nxt = trigger.get_next_fire_time(prev, prev + timedelta(seconds=1))
        if nxt is None:
            break
        longest = max(longest, (nxt - prev).total_seconds())
        prev = nxt
    return longest or DEFAULT_EVERY


def missed_run(cfg: SourceConfig, last_poll: datetime | None, now: datetime) -> bool:
    """True when a scheduled poll fell between the last poll and now (or there was none)."""
    if last_poll is None:
        return True
    if not cfg.cron:
        return last_poll + timedelta(seconds=source_interval(cfg)) <= now
    due = source_trigger(cfg).get_next_fire_time(None, last_poll + timedelta(seconds=1))
    return due is not None and due <= now
