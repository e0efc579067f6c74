"""Commands that poll: `fetch`, `test-source`, `backfill` and the daemon `run`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TextIO

from scraper.cli.common import print_json, settings_from, store_from
from scraper.run.backfill import CouncilBackfill, backfill
from scraper.run.pipeline import RunSummary
from scraper.run.queries import pick_watched
from scraper.run.tasks import (
    DispatchSummary,
    check_source_names,
    deliver_now,
    failing_now,
    poll_once,
    preview,
    web_server,
)
from scraper.settings.load import config_path

log = logging.getLogger(__name__)


def cmd_fetch(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    check_source_names(settings, args.source)
    store = store_from(settings)
    summary = poll_once(settings, store, args.source, dry_run=args.dry_run)
    done = None if args.dry_run or args.no_alerts else deliver_now(settings, store)
    sent = done.sent if done else None
    out = sys.stderr if args.json else sys.stdout
    if args.json or args.dry_run:
        for det in summary.detections:
            print_json(det.payload().data())
    print_summary(summary, sent, out)
    if done and done.left_until:
        print(
            f"alerts: {done.sent.retried} left queued; next attempt {done.left_until:%H:%M:%S} UTC "
            "(sent by the next fetch or the daemon)",
            file=out,
        )
    if not args.dry_run:
        for failing in failing_now(settings, store):
            print(f"warning: {failing.describe()}", file=sys.stderr)
    # Every alert failing is as much a failed run as a failing source: cron should notice.
    return 1 if summary.failed or (sent is not None and sent.all_failed) else 0


def print_summary(summary: RunSummary, sent: DispatchSummary | None, out: TextIO) -> None:
    print(f"{'source':24} {'status':13} {'items':>6} {'new':>4} {'time':>7}", file=out)
    for o in summary.outcomes:
        line = f"{o.name[:24]:24} {o.status:13} {o.items:6d} {len(o.new):4d} {o.duration:6.2f}s"
        print(line + (f"  {o.error}" if o.error else ""), file=out)
    if sent is not None:
        print(
            f"alerts: {sent.delivered} delivered, {sent.retried} to retry, {sent.dead} given up",
            file=out,
        )


def cmd_test_source(args: argparse.Namespace) -> int:
    rows = preview(settings_from(args), args.name)
    for row in rows:
        if args.json:
            print_json(row)
        else:
            councils = ", ".join(row["councils"]) or "-"
            verdict = "DETECT" if row["detect"] else "skip  "
            print(
                f"{verdict} {row['published'] or '?':10} [{councils}] {row['report_type'] or '-'}"
            )
            print(f"       {row['title']}")
            print(f"       {row['url']}")
            print(f"       why: {row['reason']}")
    print(f"{len(rows)} item(s) from {args.name}", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from scraper.run.daemon import run_daemon

    return run_daemon(config_path(args.config))


def cmd_serve(args: argparse.Namespace) -> int:
    """The web view alone, in the foreground, until Ctrl-C or SIGTERM."""
    server = web_server(settings_from(args), args.listen)
    print(f"serving the web view on http://{server.address}/ (Ctrl-C stops)", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    councils = pick_watched(settings, args.council)
    store = store_from(settings)
    show = sys.stderr.isatty()

    def progress(n: int, total: int, done: CouncilBackfill) -> None:
        if show:
            bar = "#" * (20 * n // total)
            name = done.council.short_name
            print(f"\r[{bar:20}] {n}/{total} {name:30}", end="", file=sys.stderr)

    result = backfill(settings, store, councils, alert=args.alert, progress=progress)
    if show:
        print(file=sys.stderr)
    for c in result.councils:
        status = f"FAILED: {c.error}" if c.error else f"{c.new} new, {c.known} already stored"
        print(f"  {c.council.short_name[:32]:32} {status}")
    stored = sum(c.stored for c in result.councils)
    failed = sum(not c.ok for c in result.councils)
    print(
        f"backfilled {len(councils)} council(s); {stored} reports stored"
        + (f"; {failed} council(s) failed" if failed else "")
    )
    return 1 if result.failed else 0
