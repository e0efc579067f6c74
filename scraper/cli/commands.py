"""The composition root: parse arguments, set up logging, run one command, map errors to exit codes.

Exit codes: 0 success, 1 a source or operation failed, 2 bad configuration or usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from scraper.cli import logs
from scraper.cli.admin import cmd_check_config, cmd_db, cmd_schema
from scraper.cli.alerting import cmd_alerts
from scraper.cli.args import build_parser
from scraper.cli.listing import cmd_councils, cmd_detections, cmd_reports
from scraper.cli.polling import cmd_backfill, cmd_fetch, cmd_run, cmd_test_source
from scraper.errors import ConfigError, ScraperError

__all__ = ["COMMANDS", "build_parser", "main"]

log = logging.getLogger(__name__)

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
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
