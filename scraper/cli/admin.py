"""Commands about the installation itself: `check-config` and `db upgrade`."""

from __future__ import annotations

import argparse

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
