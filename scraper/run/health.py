"""/healthz and /metrics: the daemon's health report and its Prometheus metrics.

The web view (scraper/web) serves both on `[daemon] listen`, beside its pages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from scraper.store import Store

if TYPE_CHECKING:
    from scraper.run.pipeline import SourceOutcome

log = logging.getLogger(__name__)


class Metrics:
    """The daemon's Prometheus metrics, in a registry of their own."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "ofsted_watch_polls_total", "Source polls by outcome", ["source", "status"], registry=r
        )
        self.failures = Counter(
            "ofsted_watch_poll_failures_total", "Failed polls", ["source"], registry=r
        )
        self.items = Counter(
            "ofsted_watch_items_total", "Items and reports parsed", ["source"], registry=r
        )
        self.detections = Counter(
            "ofsted_watch_detections_total", "New detections", ["source", "kind"], registry=r
        )
        self.latency = Histogram(
            "ofsted_watch_fetch_seconds",
            "Time to poll one source",
            ["source"],
            registry=r,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.last_success = Gauge(
            "ofsted_watch_last_success_timestamp_seconds",
            "Last successful poll (Unix time)",
            ["source"],
            registry=r,
        )
        r.register(_QueueCollector(store))

    def observe(self, o: SourceOutcome, now: datetime) -> None:
        """Count one poll's outcome."""
        self.polls.labels(o.name, o.status).inc()
        self.latency.labels(o.name).observe(o.duration)
        self.items.labels(o.name).inc(o.items)
        if o.ok:
            self.last_success.labels(o.name).set(now.timestamp())
        else:
            self.failures.labels(o.name).inc()
        for det in o.new:
            self.detections.labels(o.name, det.kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    """Alerts by state, read from the queue at scrape time so every instance reports the truth."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Any:
        family = GaugeMetricFamily(
            "ofsted_watch_alerts", "Alerts in the queue by state", labels=["state"]
        )
        try:
            for state, n in self.store.queue_depth().items():
                family.add_metric([state], n)
        except Exception:  # a scrape must not fail because the database blinked
            log.warning("metrics: queue depth unavailable", exc_info=True)
        yield family


def health_report(
    store: Store,
    *,
    running: bool,
    role: str,
    intervals: dict[str, float],
    now: datetime,
    started_at: datetime | None = None,
    failing: Sequence[str] = (),
) -> tuple[int, dict[str, Any]]:
    """200 when the scheduler runs and the store answers, else 503; per-source detail either way.

    An active daemon whose source has not been polled for more than 3 intervals (`intervals`
    already stretched by any back-off) is stalled, hence unhealthy; so is one with a source past
    its failure threshold (`failing`): the service is not doing its job for that source.
    """
    detail: dict[str, Any] = {"scheduler": "running" if running else "stopped", "role": role}
    try:
        states = {s.name: s for s in store.states()}
        detail["queue"] = store.queue_depth()
        detail["disabled_channels"] = {
            c.name: {"since": _iso(c.since), "reason": c.reason} for c in store.disabled_channels()
        }
        detail["store"] = "ok"
    except Exception as exc:  # whatever the driver raises, the answer is "store unreachable"
        detail["store"] = f"error: {type(exc).__name__}"
        detail["status"] = "unhealthy"
        return 503, detail
    sources: dict[str, Any] = {}
    stalled = []
    for name, every in intervals.items():
        s = states.get(name)
        since = (s.last_poll_at if s else None) or started_at
        stale = (
            role == "active" and since is not None and now - since > timedelta(seconds=3 * every)
        )
        if stale:
            stalled.append(name)
        sources[name] = {
            "last_poll": _iso(s.last_poll_at if s else None),
            "last_success": _iso(s.last_success_at if s else None),
            "last_failure": _iso(s.last_failure_at if s else None),
            "consecutive_failures": s.consecutive_failures if s else 0,
            "last_error": s.last_error if s else None,
            "stalled": stale,
        }
    detail["sources"] = sources
    detail["failing"] = list(failing)
    for name in failing:
        if name in sources:
            sources[name]["failing"] = True
    ok = running and not stalled and not failing
    detail["status"] = "ok" if ok else "unhealthy"
    return (200 if ok else 503), detail


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None
