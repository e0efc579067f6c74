"""Soak the daemon: 1,000 short cycles against a loopback world; report RSS, fds, database size.

    python bench/soak.py [--cycles 1000] [--sources 4] [--story-every 10]

Each cycle drives the daemon's own jobs — `Daemon._poll_job` for every source, then
`Daemon._dispatch_job` — the code APScheduler runs, minus the waiting: 1,000 scheduled cycles
at every = "1s" would take 17 minutes. /healthz and /metrics are scraped every 100 cycles.
The world (ETag-aware feeds that gain a story every `--story-every` polls, and a webhook
receiver) runs in a child process, so its memory is not counted as ours.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper.run.daemon import Daemon  # noqa: E402
from tests.daemonkit import feed, news_rss, webhook, write_config  # noqa: E402
from tests.httpserver import LocalServer, Request, Response  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def db_size_kb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1024


def growing_feed(first: int, story_every: int) -> Any:
    """A feed gaining one story every `story_every` requests, answering 304 to its ETag."""
    seen = [0]

    def respond(request: Request) -> Response:
        seen[0] += 1
        count = seen[0] // story_every
        tag = f'"{first}-{count}"'
        if request.headers.get("if-none-match") == tag:
            return Response(status=304, headers={"ETag": tag})
        body = news_rss(range(first, first + count))
        return Response(body=body, headers={"ETag": tag, "Content-Type": "application/rss+xml"})

    return respond


def world(sources: int, story_every: int, ports: Any, stop: Any) -> None:
    with LocalServer() as feeds, LocalServer() as receiver:
        for i in range(sources):
            feeds.route(f"/f{i}", growing_feed(1000 * i, story_every))
        receiver.route("/hook", Response(status=200))
        ports.put((feeds.port, receiver.port))
        stop.wait()


def scrape(daemon: Daemon) -> tuple[int, int]:
    assert daemon.health is not None
    base = "http://" + daemon.health.address
    with urllib.request.urlopen(base + "/healthz", timeout=10) as h:
        status = h.status
    with urllib.request.urlopen(base + "/metrics", timeout=10) as m:
        size = len(m.read())
    return status, size


def soak(args: argparse.Namespace, tmp: Path) -> int:
    ports: Any = mp.Queue()
    stop = mp.Event()
    child = mp.Process(target=world, args=(args.sources, args.story_every, ports, stop))
    child.start()
    feed_port, hook_port = ports.get(timeout=30)
    db = tmp / "soak.db"
    body = "".join(
        feed(f"f{i}", f"http://127.0.0.1:{feed_port}/f{i}") for i in range(args.sources)
    ) + webhook(f"http://127.0.0.1:{hook_port}/hook")
    config = write_config(tmp / "soak.toml", f"sqlite:///{db}", body)
    logging.basicConfig(level=logging.WARNING)
    daemon = Daemon(str(config))
    daemon.start()
    samples: dict[int, tuple[float, int, float]] = {}
    started = time.monotonic()
    try:
        for cycle in range(1, args.cycles + 1):
            for i in range(args.sources):
                daemon._poll_job(f"f{i}")
            daemon._dispatch_job()
            if cycle % 100 == 0 or cycle in (1, args.cycles // 2, args.cycles):
                status, _ = scrape(daemon)
                assert status == 200, f"/healthz answered {status} at cycle {cycle}"
                samples[cycle] = (rss_mb(), open_fds(), db_size_kb(db))
    finally:
        daemon.request_stop()
        daemon.shutdown()
        stop.set()
        child.join(10)
    return report(args, daemon, samples, time.monotonic() - started)


def report(
    args: argparse.Namespace,
    daemon: Daemon,
    samples: dict[int, tuple[float, int, float]],
    took: float,
) -> int:
    depth = daemon.store.queue_depth() if not daemon.abandoned else {}
    print(
        f"mode: harness (daemon jobs driven in a loop, not waiting for the scheduler); "
        f"{args.cycles} cycles x {args.sources} sources in {took:.1f}s"
    )
    for cycle, (rss, fds, size) in sorted(samples.items()):
        print(f"cycle {cycle:5d}: rss={rss:6.1f} MB  fds={fds:3d}  db={size:8.0f} KB")
    first, mid, last = samples[1], samples[args.cycles // 2], samples[args.cycles]
    warm = samples[min(c for c in samples if c >= min(100, args.cycles))]
    growth = (last[0] - warm[0]) / warm[0] * 100
    flat = abs(growth) <= 5.0
    print(f"rss start/middle/end: {first[0]:.1f} / {mid[0]:.1f} / {last[0]:.1f} MB")
    print(f"rss after warm-up -> end: {growth:+.1f}% ({'flat' if flat else 'NOT flat'} within 5%)")
    print(f"open fds start/end: {first[1]} / {last[1]}; database {last[2]:.0f} KB")
    print(f"alerts by state: {depth}")
    ok = flat and last[0] <= 60 and last[1] <= first[1] + 5
    print("verdict:", "OK" if ok else "CHECK (aim: <= 60 MB, flat within 5 %, fds steady)")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--story-every", type=int, default=10, help="polls per new story")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ofsted-soak-") as tmp:
        return soak(args, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
