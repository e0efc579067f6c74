"""One-off operations behind the command line: poll once, preview a source, deliver now, send a
test message, upgrade the database. Each opens what it needs and closes it, so the CLI composes
them without touching the fetch layer, the dispatcher or the store's internals."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scraper.alerts.dispatch import Dispatcher, DispatchSummary
from scraper.clock import utcnow
from scraper.errors import ConfigError
from scraper.ingest.fetch import Fetcher
from scraper.models import CouncilRef, Delivery
from scraper.run.pipeline import Pipeline, RunSummary, preview_source
from scraper.run.watchdog import Failing, check_source, failing_sources
from scraper.settings.config import Settings
from scraper.store import Store


def open_store(settings: Settings) -> Store:
    """The database named by the configuration, migrated to the current schema."""
    return Store.open(settings.storage_url)


def web_server(settings: Settings, listen: str | None) -> Any:
    """`serve`: the web view alone on `listen` (else [daemon] listen, else 127.0.0.1:9108),
    not yet started. Imported here so no other command loads the web stack."""
    from scraper.web.app import Context
    from scraper.web.server import WebServer

    address = listen or settings.daemon.listen or "127.0.0.1:9108"
    return WebServer(
        address, Context(settings=lambda: settings, store=open_store(settings).reader())
    )


def check_source_names(settings: Settings, names: Sequence[str] | None) -> None:
    """A `--source` naming no enabled source is a usage error, before anything is fetched."""
    known = {s.name for s in settings.sources}
    for i, name in enumerate(names or []):
        if name not in known:
            raise ConfigError(settings.path, f"--source[{i}]", f"no enabled source named {name!r}")


def poll_once(
    settings: Settings, store: Store, names: Sequence[str] | None, *, dry_run: bool
) -> RunSummary:
    """One poll of the chosen sources (all when `names` is empty)."""
    with Fetcher(settings.http) as fetcher:
        summary = Pipeline(settings, store, fetcher).run_once(names, dry_run=dry_run)
    if not dry_run:
        now = utcnow()
        for outcome in summary.outcomes:
            cfg = settings.source(outcome.name)
            if cfg is not None:
                check_source(settings, store, cfg, now)
    return summary


def failing_now(settings: Settings, store: Store) -> list[Failing]:
    """Sources past their failure threshold, as `/healthz` lists them."""
    return failing_sources(settings, store, utcnow())


@dataclass(frozen=True, slots=True)
class Deliveries:
    """What a one-off delivery did, and when the first alert it left queued falls due."""

    sent: DispatchSummary
    left_until: datetime | None = None


def deliver_now(
    settings: Settings, store: Store, *, sleep: Callable[[float], None] = time.sleep
) -> Deliveries:
    """Send what is due now, digests whose slot has come included; wait for retries falling
    due within `[daemon] alert_wait`, so a brief 503 does not hold an alert until the next run."""
    dispatcher = Dispatcher(settings, store)
    sent, left = dispatcher.finish(settings.daemon.alert_wait.total_seconds(), sleep)
    return Deliveries(sent + dispatcher.dispatch_digests(), left)


def preview(settings: Settings, name: str) -> list[dict[str, Any]]:
    """`test-source`: what one source yields now and the verdict on each item; stores nothing."""
    cfg = settings.source(name, enabled_only=False)
    if cfg is None:
        raise ConfigError(settings.path, "sources", f"no source named {name!r}")
    with Fetcher(settings.http) as fetcher:
        return preview_source(settings, fetcher, cfg)


def send_test(settings: Settings, store: Store, name: str) -> Delivery:
    """`alerts test NAME`: one harmless message through one channel, outside the queue."""
    from scraper.alerts.channels.formats import sample_detection  # mail code only when sending

    channel = settings.channel(name)
    if channel is None:
        names = ", ".join(c.name for c in settings.alert_channels) or "none"
        raise ConfigError(
            settings.path, "alerts", f"no enabled channel named {name!r} (configured: {names})"
        )
    data = sample_detection(utcnow(), CouncilRef.of(settings.watched[0]))
    return Dispatcher(settings, store).send_direct(channel, f"msg_{data.id}", data, test=True)


@dataclass(frozen=True, slots=True)
class Upgrade:
    revision: str | None
    applied: bool


def upgrade_database(settings: Settings) -> Upgrade:
    """Apply pending migrations; report the revision the database is at afterwards."""
    store = Store.open(settings.storage_url, migrate=False)
    try:
        applied = store.upgrade()
        return Upgrade(store.revision(), bool(applied))
    finally:
        store.close()


__all__ = [
    "Deliveries",
    "DispatchSummary",
    "Upgrade",
    "check_source_names",
    "deliver_now",
    "failing_now",
    "open_store",
    "poll_once",
    "preview",
    "send_test",
    "upgrade_database",
]
