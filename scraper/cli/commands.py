"""Command line: parse arguments, set up logging, call the library, print, map errors to exit codes.

The only module that prints. Exit codes: 0 success, 1 a source or operation failed, 2 bad
configuration or usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from scraper.cli import logs
from scraper.cli.args import build_parser
from scraper.errors import ConfigError, ScraperError
from scraper.judge.councils import load_register
from scraper.settings.config import (
    Settings,
    config_path,
    describe,
    load_settings,
    parse_duration,
)

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(verbose=args.verbose, quiet=args.quiet, fmt=args.log_format)
    try:
        return int(COMMANDS[args.command](args))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ScraperError as exc:
        if args.verbose:
            log.exception("failed")
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config_path(args.config))


def _store(settings: Settings) -> Any:
    from scraper.store import Store

    return Store.open(settings.storage_url)


def cmd_fetch(args: argparse.Namespace) -> int:
    from scraper.alerts.dispatch import Dispatcher
    from scraper.ingest.fetch import Fetcher
    from scraper.run.pipeline import Pipeline

    settings = _settings(args)
    known = {s.name for s in settings.sources}
    for i, name in enumerate(args.source or []):
        if name not in known:
            raise ConfigError(settings.path, f"--source[{i}]", f"no enabled source named {name!r}")
    store = _store(settings)
    with Fetcher(settings.http_policy()) as fetcher:
        summary = Pipeline(settings, store, fetcher).run_once(args.source, dry_run=args.dry_run)
    sent, left = None, None
    if not (args.dry_run or args.no_alerts):
        dispatcher = Dispatcher(settings, store)
        wait = parse_duration(settings.raw.daemon.alert_wait)
        sent, left = dispatcher.finish(wait)
        sent += dispatcher.dispatch_digests()
    out = sys.stderr if args.json else sys.stdout
    if args.json or args.dry_run:
        for det in summary.detections:
            print(json.dumps(det.payload().data(), ensure_ascii=False), file=sys.stdout)
    _print_summary(summary, sent, out)
    if left is not None:
        print(f"alerts: some left queued; next attempt at {left:%Y-%m-%d %H:%M:%S} UTC", file=out)
    # Every alert failing is as much a failed run as a failing source: cron should notice.
    return 1 if summary.failed or (sent is not None and sent.all_failed) else 0


def _print_summary(summary: Any, sent: Any, out: Any) -> None:
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
    from scraper.ingest.fetch import Fetcher
    from scraper.run.pipeline import preview_source

    settings = _settings(args)
    cfg = next((s for s in settings.raw.sources if s.name == args.name), None)
    if cfg is None:
        raise ConfigError(settings.path, "sources", f"no source named {args.name!r}")
    with Fetcher(settings.http_policy()) as fetcher:
        rows = preview_source(settings, fetcher, cfg)
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False, default=str))
        else:
            councils = ", ".join(row["councils"]) or "-"
            verdict = "DETECT" if row["detect"] else "skip  "
            print(
                f"{verdict} {row['published'] or '?':10} [{councils}] {row['report_type'] or '-'}"
            )
            print(f"       {row['title']}")
            print(f"       {row['url']}")
    print(f"{len(rows)} item(s) from {args.name}", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from scraper.run.daemon import run_daemon

    return run_daemon(config_path(args.config))


def cmd_backfill(args: argparse.Namespace) -> int:
    from scraper.ingest.fetch import Fetcher
    from scraper.run.pipeline import Pipeline

    settings = _settings(args)
    councils = _pick_watched(settings, args.council)
    store = _store(settings)
    failed = False
    show = sys.stderr.isatty()
    with Fetcher(settings.http_policy()) as fetcher:
        for n, council in enumerate(councils, 1):
            one = replace(settings, watched=(council,))
            summary = Pipeline(one, store, fetcher).run_once(
                types=["ofsted"], full_history=True, alert=args.alert
            )
            failed |= summary.failed
            if show:
                bar = "#" * (20 * n // len(councils))
                print(
                    f"\r[{bar:20}] {n}/{len(councils)} {council.short_name:30}",
                    end="",
                    file=sys.stderr,
                )
            for o in summary.outcomes:
                log.info(
                    "backfill council=%s source=%s status=%s reports=%d",
                    council.short_name,
                    o.name,
                    o.status,
                    o.items,
                )
    if show:
        print(file=sys.stderr)
    urns = [c.ofsted_urn for c in councils if c.ofsted_urn]
    print(f"backfilled {len(councils)} council(s); {len(store.reports(urns=urns))} reports stored")
    return 1 if failed else 0


def _pick_watched(settings: Settings, names: Sequence[str] | None) -> tuple[Any, ...]:
    if not names:
        return settings.watched
    register = load_register()
    picked: list[Any] = []
    for i, name in enumerate(names):
        found = register.lookup_all(name)
        if not found or not all(c in settings.watched for c in found):
            raise ConfigError(settings.path, f"--council[{i}]", f"{name!r} is not on the watchlist")
        picked.extend(found)
    return tuple(picked)


def _filter_councils(names: Sequence[str] | None) -> list[Any] | None:
    if not names:
        return None
    register = load_register()
    found: list[Any] = []
    for name in names:
        hits = register.lookup_all(name)
        if not hits:
            hint = ", ".join(register.suggest(name))
            raise ConfigError(
                "--council", name, f"unknown council{f' (did you mean: {hint}?)' if hint else ''}"
            )
        found.extend(hits)
    return found


def cmd_reports(args: argparse.Namespace) -> int:
    from scraper.store.records import report_payload

    settings = _settings(args)
    councils = _filter_councils(args.council)
    urns = [c.ofsted_urn for c in councils if c.ofsted_urn] if councils is not None else None
    register = load_register()
    for row in _store(settings).reports(urns=urns, report_type=args.type, since=args.since):
        council = register.by_urn(row["urn"])
        data = report_payload(row, [council.ref()] if council else [])
        if args.json:
            print(json.dumps(data.data(), ensure_ascii=False))
        else:
            name = council.short_name if council else row["council_name"]
            print(
                f"{data.published or '?'!s:10}  {name[:24]:24} {data.report_type or '-':16} "
                f"{data.label[:50]}  {data.url}"
            )
    return 0


def cmd_detections(args: argparse.Namespace) -> int:
    from scraper.store.records import payload

    settings = _settings(args)
    councils = _filter_councils(args.council)
    codes = [c.gss_code for c in councils] if councils is not None else None
    for row in _store(settings).detections(
        gss_codes=codes, report_type=args.type, since=args.since, include_baseline=args.all
    ):
        data = payload(row)
        if args.json:
            print(json.dumps(data.data(), ensure_ascii=False))
        else:
            names = ", ".join(c.name for c in data.councils)
            print(
                f"{data.published or '?'!s:10}  {data.kind:13} {data.report_type or '-':16} "
                f"{names[:30]:30} {data.title[:70]}"
            )
    return 0


def cmd_councils(args: argparse.Namespace) -> int:
    register = load_register()
    hits = register.search(args.query, limit=200) if args.query else list(register.all())
    if not hits:
        hint = ", ".join(register.suggest(args.query))
        print(
            f"no council matches {args.query!r}" + (f" (did you mean: {hint}?)" if hint else ""),
            file=sys.stderr,
        )
        return 1
    for c in hits:
        if args.json:
            print(
                json.dumps(
                    {
                        **c.ref(),
                        "official_name": c.name,
                        "dfe_la_code": c.dfe_la_code,
                        "region": c.region,
                        "aliases": list(c.aliases),
                        "delivery_bodies": list(c.delivery_bodies),
                        "current": c.current,
                    }
                )
            )
        else:
            print(
                f"{c.short_name:32} {c.gss_code:10} DfE {c.dfe_la_code:4} "
                f"URN {c.ofsted_urn or '-':8} {c.name}"
            )
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from scraper.alerts.dispatch import Dispatcher
    from scraper.clock import utcnow

    settings = _settings(args)
    store = _store(settings)
    if args.alerts_command == "list":
        for off in store.disabled_channels():  # on stderr with --json, keeping stdout JSON lines
            print(
                f"channel {off.name} DISABLED since {off.since:%Y-%m-%d %H:%M} UTC "
                f"({off.reason}); its alerts are held: ofsted-watch alerts enable {off.name}",
                file=sys.stderr if args.json else sys.stdout,
            )
        for row in store.alerts(status=args.status):
            if args.json:
                print(
                    json.dumps(
                        {
                            "id": row.id,
                            "channel": row.channel,
                            "status": row.status,
                            "attempts": row.attempts,
                            "message_id": row.message_id,
                            "detection_id": row.detection_id,
                            "title": row.title,
                            "next_attempt_at": row.next_attempt_at.isoformat(),
                            "last_error": row.last_error,
                        }
                    )
                )
            else:
                print(
                    f"{row.id:6d} {row.status:9} {row.channel[:16]:16} "
                    f"attempts={row.attempts} {row.title[:60]}"
                    + (f"  last error: {row.last_error}" if row.last_error else "")
                )
        return 0
    if args.alerts_command == "retry":
        print(f"requeued {store.requeue_alerts(utcnow(), args.ids or None)} alert(s)")
        for name in [] if args.ids else store.enable_channels(utcnow()):
            print(f"re-enabled channel {name}")
        return 0
    if args.alerts_command == "enable":
        enabled = store.enable_channels(utcnow(), [args.name])
        if args.name not in enabled:
            print(f"channel {args.name} is not disabled")
            return 0
        print(f"re-enabled channel {args.name}; requeued {enabled[args.name]} alert(s)")
        return 0
    channel = {c.name: c for c in settings.alert_channels}.get(args.name)
    if channel is None:
        names = ", ".join(c.name for c in settings.alert_channels) or "none"
        raise ConfigError(
            settings.path, "alerts", f"no enabled channel named {args.name!r} (configured: {names})"
        )
    from scraper.alerts.channels.formats import sample_detection
    from scraper.models import CouncilRef

    data = sample_detection(utcnow(), CouncilRef.of(settings.watched[0]))
    delivery = Dispatcher(settings, store).send_direct(channel, f"msg_{data.id}", data, test=True)
    print(f"{args.name}: {delivery.outcome}" + (f" ({delivery.detail})" if delivery.detail else ""))
    return 0 if delivery.outcome == "delivered" else 1


def cmd_check_config(args: argparse.Namespace) -> int:
    for line in describe(_settings(args)):
        print(line)
    print("configuration OK")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from scraper.store.db import current_revision, make_engine, upgrade

    engine = make_engine(_settings(args).storage_url)
    applied = upgrade(engine)
    print(
        f"database at revision {current_revision(engine)}"
        + (" (upgraded)" if applied else " (already up to date)")
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """The webhook body's JSON Schema; needs no configuration, so receivers can fetch it."""
    from scraper.models import payload_schema

    print(json.dumps(payload_schema(), indent=2, ensure_ascii=False))
    return 0


COMMANDS = {
    "fetch": cmd_fetch,
    "test-source": cmd_test_source,
    "run": cmd_run,
    "backfill": cmd_backfill,
    "reports": cmd_reports,
    "detections": cmd_detections,
    "councils": cmd_councils,
    "alerts": cmd_alerts,
    "check-config": cmd_check_config,
    "db": cmd_db,
    "schema": cmd_schema,
}
