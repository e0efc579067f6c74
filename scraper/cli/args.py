"""The command line's grammar: commands, options and their help (parsing only, no output)."""

from __future__ import annotations

import argparse
from datetime import date

from scraper import __version__
from scraper.models import REPORT_TYPES


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ofsted-watch",
        description="Watch for new Ofsted reports on English councils' children's services.",
        epilog="Example: ofsted-watch --config config/ofsted-watch.toml fetch",
    )
    p.add_argument(
        "--config", help="TOML file (default: $OFSTED_WATCH_CONFIG, else config/ofsted-watch.toml)"
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="debug logging and tracebacks"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    p.add_argument("--version", action="version", version=f"ofsted-watch {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    f = sub.add_parser(
        "fetch",
        help="poll every source once, store, then send pending alerts",
        description="Example: ofsted-watch fetch --source ofsted --json",
    )
    f.add_argument(
        "--source", action="append", metavar="NAME", help="only this source (repeatable)"
    )
    f.add_argument(
        "--dry-run",
        action="store_true",
        help="write and send nothing; print what would be detected",
    )
    f.add_argument(
        "--no-alerts", action="store_true", help="store and queue alerts but send nothing"
    )
    f.add_argument("--json", action="store_true", help="print each new detection as one JSON line")

    ts = sub.add_parser(
        "test-source",
        help="fetch one source now and print what it would extract, storing nothing",
        description="Example: ofsted-watch test-source council-news --json",
    )
    ts.add_argument("name", metavar="NAME", help="the source's name in the configuration")
    ts.add_argument("--json", action="store_true", help="print each item as one JSON line")

    sub.add_parser(
        "run",
        help="the daemon: scheduled polls, alert dispatch, /healthz and /metrics",
        description="Example: ofsted-watch --log-format json run",
    )

    b = sub.add_parser(
        "backfill",
        help="read the full Ofsted history of watched councils",
        description="Example: ofsted-watch backfill --council Reading",
    )
    b.add_argument(
        "--council", action="append", metavar="X", help="only this watched council (repeatable)"
    )
    b.add_argument(
        "--alert", action="store_true", help="queue alerts for what is found (default: none)"
    )

    for name, what in (("reports", "stored Ofsted reports"), ("detections", "stored detections")):
        q = sub.add_parser(
            name,
            help=f"list {what}",
            description=f"Example: ofsted-watch {name} --council Reading --json",
        )
        q.add_argument(
            "--council", action="append", metavar="X", help="only this council (repeatable)"
        )
        q.add_argument("--type", choices=REPORT_TYPES, help="only this report type")
        q.add_argument(
            "--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="published on or after"
        )
        q.add_argument("--json", action="store_true", help="one JSON object per line")
        if name == "detections":
            q.add_argument(
                "--all",
                action="store_true",
                help="include what baseline polls and backfills recorded silently",
            )

    c = sub.add_parser(
        "councils",
        help="search the council register",
        description="Example: ofsted-watch councils 'west berks'",
    )
    c.add_argument("query", nargs="?", default="", help="name, alias, GSS or DfE code, Ofsted URN")
    c.add_argument("--json", action="store_true")

    a = sub.add_parser(
        "alerts",
        help="the alert queue",
        description="Example: ofsted-watch alerts list --status failed",
    )
    asub = a.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    al = asub.add_parser("list", help="show queued alerts")
    al.add_argument("--status", choices=("pending", "sending", "delivered", "failed", "dead"))
    al.add_argument("--json", action="store_true")
    ar = asub.add_parser("retry", help="requeue failed and dead alerts (or the IDs given)")
    ar.add_argument("ids", nargs="*", type=int, metavar="ID")
    at = asub.add_parser("test", help="send a test message through one channel")
    at.add_argument("name", help="channel name from [[alerts]]")
    ae = asub.add_parser("enable", help="re-enable a channel disabled by a 410 Gone answer")
    ae.add_argument("name", help="channel name from [[alerts]]")

    sub.add_parser(
        "check-config",
        help="validate the configuration and print what it resolves to",
        description="Example: ofsted-watch --config my.toml check-config",
    )
    d = sub.add_parser(
        "db", help="database maintenance", description="Example: ofsted-watch db upgrade"
    )
    dsub = d.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dsub.add_parser("upgrade", help="apply schema migrations")
    s = sub.add_parser(
        "schema",
        help="print a published JSON Schema",
        description="Example: ofsted-watch schema payload > payload.schema.json",
    )
    s.add_argument("name", choices=("payload",), help="payload: the webhook body")
    return p
