"""/healthz and /metrics over a small threaded HTTP server (prometheus-client for the format)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from scraper.store import Store

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
    store: Store, *, running: bool, role: str, intervals: dict[str, float], now: datetime
) -> tuple[int, dict[str, Any]]:
    """200 when the scheduler runs and the store answers, else 503; per-source detail either way."""
    detail: dict[str, Any] = {"scheduler": "running" if running else "stopped", "role": role}
    try:
        states = {s.name: s for s in store.states()}
        detail["queue"] = store.queue_depth()
        detail["store"] = "ok"
    except Exception as exc:
        detail["store"] = f"error: {type(exc).__name__}"
        return 503, detail
    sources = {}
    stalled = []
    for name, every in intervals.items():
        s = states.get(name)
        last_poll = s.last_poll_at if s else None
        stale = (
            role == "active"
            and last_poll is not None
            and now - last_poll > timedelta(seconds=3 * every + 60)
        )
        if stale:
            stalled.append(name)
        sources[name] = {
            "last_success": _iso(s.last_success_at if s else None),
            "last_failure": _iso(s.last_failure_at if s else None),
            "consecutive_failures": s.consecutive_failures if s else 0,
            "last_error": s.last_error if s else None,
            "stalled": stale,
        }
    detail["sources"] = sources
    ok = running and not stalled
    detail["status"] = "ok" if ok else "unhealthy"
    return (200 if ok else 503), detail


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class HealthServer:
    """Serves /healthz (JSON) and /metrics (Prometheus text) from a daemon thread."""

    def __init__(
        self, listen: str, health: Callable[[], tuple[int, dict[str, Any]]], metrics: Metrics
    ) -> None:
        host, _, port = listen.rpartition(":")
        handler = _handler(health, metrics)
        self.server = ThreadingHTTPServer((host.strip("[]"), int(port)), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()
        log.info("health endpoint listening on http://%s/healthz", self.address)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(
    health: Callable[[], tuple[int, dict[str, Any]]], metrics: Metrics
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/healthz":
                status, detail = health()
                self._send(status, "application/json", json.dumps(detail).encode())
            elif self.path.split("?")[0] == "/metrics":
                self._send(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render())
            else:
                self._send(404, "text/plain", b"not found\n")

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("health %s", format % args)

    return Handler
