"""Source health: tell people once when watching has stopped working, and once when it works
again. A source is failing after `failures_before_notice` failed polls in a row (default 3) or,
with `failing_after`, after that long without a success; with `stale_after` it is stale when it
has yielded nothing new for that long. Each change is logged and queued as one notice to the
`[daemon] notify` channels; nothing is sent while the state stays the same."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from scraper.alerts.dispatch import notice_payload
from scraper.clock import iso_utc, london
from scraper.settings.config import Settings, SourceConfig
from scraper.store import Notice, SourceState, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Failing:
    """A source past its failure threshold: what /healthz and `fetch` report."""

    name: str
    since: datetime | None  # first failure of the streak
    failures: int
    error: str | None

    def describe(self) -> str:
        since = f" since {london(self.since):%Y-%m-%d %H:%M}" if self.since else ""
        return (
            f"source {self.name} is failing{since} ({self.failures} polls in a row): "
            f"{self.error or 'unknown error'}"
        )


def is_failing(cfg: SourceConfig, state: SourceState, now: datetime) -> bool:
    """Past the source's threshold: N failures in a row, or no success for `failing_after`."""
    if state.consecutive_failures == 0:
        return False
    if state.consecutive_failures >= cfg.failures_before_notice:
        return True
    if cfg.failing_after is None:
        return False
    last_good = state.last_success_at or state.failing_since
    return last_good is not None and now - last_good >= cfg.failing_after


def failing_sources(settings: Settings, store: Store, now: datetime) -> list[Failing]:
    """Every enabled source past its failure threshold, in configuration order."""
    states = {s.name: s for s in store.states()}
    out = []
    for cfg in settings.sources:
        state = states.get(cfg.name)
        if state is not None and is_failing(cfg, state, now):
            out.append(
                Failing(cfg.name, state.failing_since, state.consecutive_failures, state.last_error)
            )
    return out


def check_source(settings: Settings, store: Store, cfg: SourceConfig, now: datetime) -> None:
    """After a poll: send the one notice a change of health calls for, if any."""
    state = store.load_state(cfg.name)
    failing = is_failing(cfg, state, now)
    if failing and state.failing_notified_at is None:
        info = Failing(cfg.name, state.failing_since, state.consecutive_failures, state.last_error)
        log.warning("%s", info.describe(), extra={"source": cfg.name, "event": "source_failing"})
        key = f"failing:{cfg.name}:{iso_utc(state.failing_since or now)}"
        _tell(
            settings,
            store,
            cfg.name,
            values={"failing_notified_at": now},
            now=now,
            key=key,
            kind="source_failing",
            title=f"ofsted-watch: source {cfg.name} is failing",
            summary=info.describe(),
        )
    elif state.consecutive_failures == 0 and state.failing_notified_at is not None:
        text = f"source {cfg.name} works again (failing since {iso_utc(state.failing_notified_at)})"
        log.warning("%s", text, extra={"source": cfg.name, "event": "source_recovered"})
        key = f"recovered:{cfg.name}:{iso_utc(now)}"
        _tell(
            settings,
            store,
            cfg.name,
            values={"failing_notified_at": None},
            now=now,
            key=key,
            kind="source_recovered",
            title=f"ofsted-watch: source {cfg.name} has recovered",
            summary=text,
        )
    if cfg.stale_after is not None and state.consecutive_failures == 0:
        _check_stale(settings, store, cfg, state, now)


def _check_stale(
    settings: Settings, store: Store, cfg: SourceConfig, state: SourceState, now: datetime
) -> None:
    """Warn once per quiet spell; something new re-arms the warning."""
    last_new = store.last_new_at(cfg.name)
    if cfg.stale_after is None or last_new is None or now - last_new < cfg.stale_after:
        return
    if state.stale_notified_at is not None and state.stale_notified_at >= last_new:
        return
    days = (now - last_new).days
    text = (
        f"source {cfg.name} has yielded nothing new since {london(last_new):%Y-%m-%d %H:%M} "
        f"({days} days); the site may have moved or changed its layout"
    )
    log.warning("%s", text, extra={"source": cfg.name, "event": "source_stale"})
    key = f"stale:{cfg.name}:{iso_utc(last_new)}"
    _tell(
        settings,
        store,
        cfg.name,
        values={"stale_notified_at": now},
        now=now,
        key=key,
        kind="source_stale",
        title=f"ofsted-watch: source {cfg.name} has gone quiet",
        summary=text,
    )


def _tell(
    settings: Settings,
    store: Store,
    name: str,
    *,
    values: dict[str, datetime | None],
    now: datetime,
    key: str,
    kind: str,
    title: str,
    summary: str,
) -> None:
    data = notice_payload(key, kind, title, summary, now)
    notices = [Notice(channel, key, None, data) for channel in settings.daemon.notify]
    store.note_source_health(name, values, notices, now)
