"""The web view under load, its memory cost in the daemon, and the expected-visit rules' hit rate.

    python bench/web.py [--detections 10000] [--reports 2000] [--councils 20] [--runs 30]

1. Stores `--reports` reports and `--detections` detections (one per report, the rest news)
   for `--councils` watched councils through the Store's own write method (`record_poll`),
   serves the app on loopback as `serve` does, and times `/`, a council page and
   `/api/detections` (and the rest) over HTTP: median and 95th percentile of `--runs` requests.
2. Starts `ofsted-watch run` twice in a subprocess on the same database, without the web view
   (`listen = ""`) and with it (after every page has been served once), and compares VmRSS.
3. Seeds a database through the real CLI from the loopback Ofsted fixtures (tests/webkit.py)
   and measures the expected-visit rules on that stored history: for each past report, would
   the window computed the day before have contained it? By type.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper.judge.councils import load_register  # noqa: E402
from scraper.judge.visits import measure  # noqa: E402
from scraper.models import Council, Detection, Evidence, Report, SourceResult  # noqa: E402
from scraper.store import PollRecord, Store  # noqa: E402
from scraper.web.data import visits  # noqa: E402

TYPES = ["inspection", "monitoring_visit", "focused_visit", "jtai", "area_send"]
JUDGEMENTS = ["good", "requires_improvement", "inadequate", "outstanding"]
PAGE_LIMIT_MS = 200.0
RSS_LIMIT_MB = 15.0


def councils(n: int) -> list[Council]:
    return [c for c in load_register().all() if c.ofsted_urn][:n]


def fill(store: Store, watched: list[Council], n_reports: int, n_detections: int) -> None:
    """Reports and detections written with record_poll, in batches, as polls would."""
    start = datetime(2014, 1, 1, tzinfo=UTC)
    batch: list[tuple[Report, str | None]] = []
    dets: list[tuple[Detection, str | None]] = []
    for i in range(n_detections):
        council = watched[i % len(watched)]
        day = (start + timedelta(hours=9 * i)).date()
        seen = start + timedelta(hours=9 * i, minutes=5)
        if i < n_reports:
            rtype = TYPES[i % len(TYPES)]
            report = Report(
                urn=council.ofsted_urn or "",
                council_name=council.name,
                label=f"Children's services {rtype.replace('_', ' ')} <{i}>",
                url=f"https://files.example.org/v1/file/{60000000 + i}",
                file_id=str(60000000 + i),
                report_type=rtype,
                published=day,
                visit_dates=(day - timedelta(days=40), day - timedelta(days=36)),
                judgement=JUDGEMENTS[i % 4] if rtype == "inspection" else None,
            )
            batch.append((report, council.gss_code))
            det = Detection(
                id=report.key,
                kind="ofsted_report",
                report_type=rtype,
                councils=(council,),
                title=report.label,
                url=report.url,
                published=day,
                source="ofsted",
                first_seen=seen,
                judgement=report.judgement,
            )
        else:
            det = Detection(
                id=f"news:{i}",
                kind="news_article",
                report_type=TYPES[i % 3],
                councils=(council,),
                title=f"{council.short_name} children's services: Ofsted story {i}",
                url=f"https://news.example.org/{i}",
                published=day,
                source="news",
                first_seen=seen,
                summary="Inspectors visited the council's children's services.",
                evidence=(Evidence(council.short_name, council.short_name, "title", 0),),
            )
        dets.append((det, None))
        if len(dets) >= 500:
            _flush(store, batch, dets)
            batch, dets = [], []
    _flush(store, batch, dets)


def _flush(store: Store, batch: list[Any], dets: list[Any]) -> None:
    now = datetime.now(UTC)
    for source in ("ofsted", "news"):
        rec = PollRecord(
            result=SourceResult(source=source),
            items=(),
            reports=[r for r in batch if source == "ofsted"],
            detections=[d for d in dets if (d[0].source == source)],
            baseline=True,
        )
        store.record_poll(rec, old=store.load_state(source), now=now, routes=lambda _d: [])


def write_config(path: Path, db_url: str, watched: list[Council], listen: str) -> Path:
    names = json.dumps([c.gss_code for c in watched])
    path.write_text(
        f'[storage]\nurl = "{db_url}"\n\n[daemon]\nlisten = "{listen}"\n\n'
        f"[watchlist]\ncouncils = {names}\n\n"
        '[[sources]]\nname = "news"\ntype = "feed"\nurl = "http://127.0.0.1:9/feed"\n'
        'every = "1d"\n\n[[sources]]\nname = "ofsted"\ntype = "ofsted"\nevery = "1d"\n'
        'base_url = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    return path


def fetch(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        r.read()
        assert r.status == 200, url
    return (time.perf_counter() - t0) * 1000


def time_pages(base: str, paths: list[str], runs: int) -> dict[str, tuple[float, float]]:
    out = {}
    for path in paths:
        fetch(base + path)  # warm: templates compiled, feedgen/icalendar imported
        samples = sorted(fetch(base + path) for _ in range(runs))
        out[path] = (statistics.median(samples), samples[int(0.95 * (len(samples) - 1))])
    return out


def bench_pages(config: Path, gss: str, runs: int) -> dict[str, tuple[float, float]]:
    from scraper.settings.load import load_settings
    from scraper.web.app import Context
    from scraper.web.server import WebServer

    settings = load_settings(str(config))
    store = Store.open(settings.storage_url)
    server = WebServer("127.0.0.1:0", Context(settings=lambda: settings, store=store))
    server.start()
    try:
        base = f"http://{server.address}"
        paths = [
            "/",
            f"/councils/{gss}",
            "/api/detections",
            "/api/detections?council=" + gss,
            "/detections",
            "/api/reports",
            "/feed.atom",
            "/calendar.ics",
            "/sources",
            "/alerts",
        ]
        return time_pages(base, paths, runs)
    finally:
        server.stop()
        store.close()


def daemon_rss(config: Path, with_app: bool, pages: list[str]) -> float:
    """VmRSS (MB) of `ofsted-watch run` once active (and, with the app, after serving pages)."""
    log = config.with_suffix(".log")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "scraper", "--config", str(config), "run"]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        text = ""
        while "role=active" not in text:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"daemon did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
            text = log.read_text(errors="replace")
        if with_app:
            m = re.search(r"listening on http://([\d.:]+)/healthz", text)
            assert m, text
            for _ in range(3):
                for path in pages:
                    fetch(f"http://{m.group(1)}{path}")
        time.sleep(1.0)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    finally:
        proc.terminate()
        proc.wait(30)


def hit_rates(tmp: Path) -> list[Any]:
    """The rules measured on the history the loopback Ofsted fixtures store."""
    from tests.webkit import FIVE, seed

    (tmp / "fixtures").mkdir()
    seeded = seed(tmp / "fixtures")
    store = Store.open(seeded.db_url)
    register = load_register()
    histories = []
    for name in FIVE:
        council = register.lookup(name)
        assert council is not None and council.ofsted_urn
        rows, _ = store.council_history([council.ofsted_urn], council.gss_code)
        histories.append(visits(rows))
    return measure(histories)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--detections", type=int, default=10_000)
    ap.add_argument("--reports", type=int, default=2_000)
    ap.add_argument("--councils", type=int, default=20)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_url = f"sqlite:///{tmp}/bench.db"
        watched = councils(args.councils)
        store = Store.open(db_url)
        t0 = time.perf_counter()
        fill(store, watched, args.reports, args.detections)
        if os.environ.get("BENCH_KEEP_DB"):
            import shutil

            shutil.copy(f"{tmp}/bench.db", os.environ["BENCH_KEEP_DB"])
        store.close()
        fill_s = time.perf_counter() - t0
        print(
            f"stored {args.reports} reports and {args.detections} detections for "
            f"{len(watched)} councils in {fill_s:.1f}s (Store.record_poll)"
        )
        config = write_config(tmp / "serve.toml", db_url, watched, "")
        timings = bench_pages(config, watched[0].gss_code, args.runs)
        print(f"\nresponse times over loopback, {args.runs} requests each (ms):")
        for path, (median, p95) in timings.items():
            flag = ""
            if path in ("/", f"/councils/{watched[0].gss_code}", "/api/detections"):
                ratio = median / PAGE_LIMIT_MS
                flag = f"  {ratio:.2f} of the {PAGE_LIMIT_MS:.0f} ms budget"
            print(f"  {path:45} median {median:7.1f}  p95 {p95:7.1f}{flag}")

        pages = ["/", f"/councils/{watched[0].gss_code}", "/api/detections", "/feed.atom"]
        pages += ["/calendar.ics", "/detections", "/sources", "/alerts", "/api/councils"]
        without = daemon_rss(write_config(tmp / "off.toml", db_url, watched, ""), False, pages)
        on_cfg = write_config(tmp / "on.toml", db_url, watched, "127.0.0.1:0")
        with_app = daemon_rss(on_cfg, True, pages)
        extra = with_app - without
        print(
            f"\ndaemon RSS: without the web view {without:.1f} MB, with it (every page served) "
            f"{with_app:.1f} MB: +{extra:.1f} MB = {extra / RSS_LIMIT_MB:.2f} of the "
            f"{RSS_LIMIT_MB:.0f} MB budget"
        )

        print("\nexpected-visit rules on the stored fixture history (window of the day before):")
        for rate in hit_rates(tmp):
            print(
                f"  {rate.report_type:17} {rate.hits:3d} / {rate.total:3d} in the window"
                + (f"  ({rate.rate:.0%})" if rate.total else "")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
