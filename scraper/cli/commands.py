"""The composition root: parse arguments, set up logging, run one command, map errors to exit codes.

Exit codes: 0 success, 1 a source or operation failed, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from scraper.cli import logs
from scraper.cli.args import build_parser
from scraper.errors import ConfigError, ScraperError

__all__ = ["COMMANDS", "build_parser", "main"]

log = logging.getLogger(__name__)


def _command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command whose module is imported only when it runs: `--help` or `councils` then never
    load the HTTP client, the database layer or the config models (start-up time and memory)."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(f"scraper.cli.{module}"), name
        )
        return command(args)

    return run


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fetch": _command("polling", "cmd_fetch"),
    "test-source": _command("polling", "cmd_test_source"),
    "run": _command("polling", "cmd_run"),
    "serve": _command("polling", "cmd_serve"),
    "backfill": _command("polling", "cmd_backfill"),
    "reports": _command("listing", "cmd_reports"),
    "detections": _command("listing", "cmd_detections"),
    "councils": _command("listing", "cmd_councils"),
    "alerts": _command("alerting", "cmd_alerts"),
    "check-config": _command("admin", "cmd_check_config"),
    "db": _command("admin", "cmd_db"),
    "schema": _command("admin", "cmd_schema"),
    "demo": _command("demo", "cmd_demo"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(
        verbose=args.verbose,
        quiet=args.quiet,
        fmt=args.log_format,
        # The demo tells its own story; elsewhere only a person at a terminal wants it short.
        terse=args.command == "demo" or (args.command != "run" and sys.stderr.isatty()),
    )
    try:
        return int(COMMANDS[args.command](args))
    except BrokenPipeError:
        return _reader_left()
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


def _reader_left() -> int:
    """`ofsted-watch reports | head` closed our stdout: stop quietly. Later writes (and the
    interpreter's final flush) go to /dev/null instead of raising BrokenPipeError again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
