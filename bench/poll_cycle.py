"""One fetch cycle over many loopback feed sources: wall time, requests, bytes, items, peak RSS.

    python bench/poll_cycle.py [--sources 200] [--hosts 20] [--latency 0.05] [--min-interval 0.25]

Servers run in a child process (so their memory and CPU are not counted as ours), each on its
own port: a "host" is host:port, so politeness applies per port. Cycle 1 is all 200s (the
baseline); cycle 2 is a mix: every other source answers 304 to its stored ETag, the rest serve
a changed feed; cycle 3 is all 304s. The ideal is what politeness allows: per host,
requests * max(latency, min_interval), and overall the requests spread over the workers.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from feedworld import lean_feed  # noqa: E402

from scraper.ingest.fetch import Fetcher  # noqa: E402
from scraper.run.pipeline import Pipeline  # noqa: E402
from scraper.settings.load import load_settings  # noqa: E402
from scraper.store import Store  # noqa: E402


def serve(hosts: int, per_host: int, latency: float, ports: Any, stop: Any, cycle: Any) -> None:
    """Child process: `hosts` servers with `per_host` feeds each, honouring If-None-Match.

    Odd-numbered sources change their feed every cycle (200); even ones never do (304 after
    the first cycle)."""
    sys.path.insert(0, str(ROOT))
    from tests.httpserver import LocalServer, Request, Response

    feeds = [lean_feed(version=v) for v in range(4)]

    def route(index: int) -> Callable[[Request], Response]:
        def respond(request: Request) -> Response:
            version = min(cycle.value, 3) if index % 2 else 0
            tag = f'"v{version}"'
            if request.headers.get("if-none-match") == tag:
                return Response(status=304, headers={"ETag": tag})
            headers = {"ETag": tag, "Content-Type": "application/rss+xml"}
            return Response(body=feeds[version], headers=headers)

        return respond

    servers = []
    for h in range(hosts):
        server = LocalServer(latency=latency).__enter__()
        for j in range(per_host):
            server.route(f"/feed{j}", route(h * per_host + j))
        servers.append(server)
    ports.put([int(s.netloc.rsplit(":", 1)[1]) for s in servers])
    stop.wait()
    for s in servers:
        s.close()


def write_config(tmp: str, ports: list[int], per_host: int, args: argparse.Namespace) -> Path:
    config = Path(tmp) / "bench.toml"
    sources = "".join(
        f'[[sources]]\nname = "s{p}-{j}"\ntype = "feed"\nurl = "http://127.0.0.1:{p}/feed{j}"\n'
        for p in ports
        for j in range(per_host)
    )
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp}/bench.db"\n[http]\nallow_private = true\n'
        f"min_interval = {args.min_interval}\nmax_workers = {args.workers}\nretries = 0\n"
        f'[daemon]\nlisten = ""\n[watchlist]\ncouncils = ["Reading"]\n{sources}'
    )
    return config


def one_cycle(pipeline: Pipeline, fetcher: Fetcher, hosts: int, args: argparse.Namespace) -> str:
    before = fetcher.stats
    started = time.perf_counter()
    summary = pipeline.run_once()
    wall = time.perf_counter() - started
    after = fetcher.stats
    requests = after.requests - before.requests
    statuses = Counter(o.status for o in summary.outcomes)
    per_host = requests / hosts
    ideal = max(
        (per_host - 1) * max(args.min_interval, args.latency) + args.latency,
        requests * args.latency / args.workers,
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"wall {wall:.2f} s, requests {requests}, bytes {after.bytes_read - before.bytes_read:,}, "
        f"items parsed {sum(o.items for o in summary.outcomes)}, outcomes {dict(statuses)}, "
        f"peak RSS {rss:.0f} MB, ideal {ideal:.2f} s, wall/ideal {wall / ideal:.2f}"
    )


def fetch_only(fetcher: Fetcher, urls: list[str], args: argparse.Namespace) -> str:
    """N URLs fetched by `workers` threads, no parsing."""
    targets = [urls[i % len(urls)] for i in range(args.fetch_only)]
    for url in urls:  # robots.txt once per host, outside the timing
        fetcher.get(url)
    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        sizes = list(pool.map(lambda u: len(fetcher.get(u).body), targets))
    wall = time.perf_counter() - started
    return (
        f"fetch-only: {len(targets)} GETs in {wall:.2f} s ({len(targets) / wall:.0f} req/s), "
        f"{sum(sizes):,} bytes"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--min-interval", type=float, default=0.25)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument(
        "--fetch-only",
        type=int,
        default=0,
        metavar="N",
        help="instead: GET N URLs spread over the hosts through the Fetcher, no parsing",
    )
    args = ap.parse_args()
    per_host = args.sources // args.hosts
    ports: Any = mp.Queue()
    stop = mp.Event()
    cycle = mp.Value("i", 0)
    child = mp.Process(
        target=serve, args=(args.hosts, per_host, args.latency, ports, stop, cycle), daemon=True
    )
    child.start()
    port_list = ports.get(timeout=30)
    print(
        f"{per_host * len(port_list)} sources on {len(port_list)} hosts, latency "
        f"{args.latency * 1000:.0f} ms, min_interval {args.min_interval} s, {args.workers} workers"
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(str(write_config(tmp, port_list, per_host, args)))
        store = Store.open(settings.storage_url)
        with Fetcher(settings.http) as fetcher:
            if args.fetch_only:
                print(fetch_only(fetcher, [s.url for s in settings.sources], args))
                return
            pipeline = Pipeline(settings, store, fetcher)
            plan = [(0, "all 200 (baseline)"), (1, "half 304, half changed"), (1, "all 304")]
            plan += [(n, "half 304, half changed") for n in range(2, args.cycles)]
            for n, (version, label) in enumerate(plan[: args.cycles]):
                cycle.value = version
                print(
                    f"cycle {n + 1} ({label}): {one_cycle(pipeline, fetcher, len(port_list), args)}"
                )
        store.close()
    stop.set()
    child.join(timeout=5)


if __name__ == "__main__":
    main()
