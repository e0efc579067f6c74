"""The command line's grammar: commands, options and their help (parsing only, no output)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from scraper import __version__
from scraper.clock import LONDON, utcnow
from scraper.models import REPORT_TYPES

_AGO = re.compile(r"^\s*(\d+)\s*([dw])\s*$")


def since_date(text: str, *, today: Callable[[], date] | None = None) -> date:
    """`--since`: a date (YYYY-MM-DD), `today`, `yesterday`, or an age such as `7d` or `2w`."""
    day = today() if today else utcnow().astimezone(LONDON).date()
    word = text.strip().lower()
    if word in ("today", "yesterday"):
        return day - timedelta(days=0 if word == "today" else 1)
    m = _AGO.match(word)
    if m:
        return day - timedelta(days=int(m.group(1)) * (7 if m.group(2) == "w" else 1))
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use YYYY-MM-DD, today, yesterday, 7d or 2w"
        ) from None


def _global_options(p: argparse.ArgumentParser, defaults: dict[str, Any]) -> None:
    """--config, -v, -q and --log-format. On each subcommand they default to SUPPRESS, so
    `fetch --config x.toml` works and does not reset what `--config x.toml fetch` set."""

    def default(name: str) -> Any:
        return defaults.get(name, argparse.SUPPRESS)

    p.add_argument(
        "--config",
        default=default("config"),
        help="TOML file (default: $OFSTED_WATCH_CONFIG, else config/ofsted-watch.toml)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default("verbose"),
        help="more detail: -v every INFO line, -vv debug logging and tracebacks",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", default=default("quiet"), help="warnings only"
    )
    p.add_argument("--log-format", choices=("text", "json"), default=default("log_format"))


class _Sub:
    """add_parser that also gives every (sub)command the global options."""

    def __init__(self, action: Any) -> None:
        self.action = action

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.action.add_parser(name, **kwargs)
        _global_options(parser, {})
        return parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ofsted-watch",
        description="Watch for new Ofsted reports on English councils' children's services.",
        epilog="Example: ofsted-watch --config config/ofsted-watch.toml fetch "
        "(global options may also follow the command)",
    )
    _global_options(p, {"config": None, "verbose": 0, "quiet": False, "log_format": "text"})
    p.add_argument("--version", action="version", version=f"ofsted-watch {__version__}")
    sub = _Sub(p.add_subparsers(dest="command", required=True, metavar="COMMAND"))

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
    f.add_argument(
        "--json",
        action="store_true",
        help="print each new detection as one JSON object per line (the summary goes to stderr)",
    )

    ts = sub.add_parser(
        "test-source",
        help="fetch one source now and print what it would extract, storing nothing",
        description="Example: ofsted-watch test-source council-news --json",
    )
    ts.add_argument("name", metavar="NAME", help="the source's name in the configuration")
    ts.add_argument("--json", action="store_true", help="one JSON object per item, per line")

    sub.add_parser(
        "run",
        help="the daemon: scheduled polls, alert dispatch, the web view with /healthz and /metrics",
        description="Example: ofsted-watch --log-format json run",
    )

    sv = sub.add_parser(
        "serve",
        help="the read-only web view alone: pages, feeds, JSON API, calendars",
        description="Example: ofsted-watch serve --listen 127.0.0.1:9108",
    )
    sv.add_argument(
        "--listen", metavar="HOST:PORT", help="default: [daemon] listen, else 127.0.0.1:9108"
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
            "--since",
            type=since_date,
            metavar="WHEN",
            help="published on or after: YYYY-MM-DD, today, yesterday, 7d, 2w",
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
    c.add_argument("--json", action="store_true", help="one JSON object per line")

    a = sub.add_parser(
        "alerts",
        help="the alert queue",
        description="Example: ofsted-watch alerts list --status failed",
    )
    asub = _Sub(a.add_subparsers(dest="alerts_command", required=True, metavar="ACTION"))
    al = asub.add_parser("list", help="show queued alerts")
    al.add_argument("--status", choices=("pending", "sending", "delivered", "failed", "dead"))
    al.add_argument("--json", action="store_true", help="one JSON object per line")
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
    dsub = _Sub(d.add_subparsers(dest="db_command", required=True, metavar="ACTION"))
    dsub.add_parser("upgrade", help="apply schema migrations")
    sub.add_parser(
        "demo",
        help="see it work offline: a recorded Ofsted site and feeds, a baseline, then news",
        description="Example: ofsted-watch demo (needs no configuration and no network)",
    )
    s = sub.add_parser(
        "schema",
        help="print a published JSON Schema",
        description="Example: ofsted-watch schema payload > payload.schema.json",
    )
    s.add_argument("name", choices=("payload",), help="payload: the webhook body")
    return p
