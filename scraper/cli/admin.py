"""Commands about the installation itself: `check-config` and `db upgrade`."""

from __future__ import annotations

import argparse
import json

from scraper.cli.common import settings_from
from scraper.cli.render import describe
from scraper.run.tasks import upgrade_database


def cmd_check_config(args: argparse.Namespace) -> int:
    for line in describe(settings_from(args)):
        print(line)
    print("configuration OK")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    done = upgrade_database(settings_from(args))
    print(
        f"database at revision {done.revision}"
        + (" (upgraded)" if done.applied else " (already up to date)")
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """The webhook body's JSON Schema; needs no configuration, so receivers can fetch it."""
    from scraper.models import payload_schema

    print(json.dumps(payload_schema(), indent=2, ensure_ascii=False))
    return 0
