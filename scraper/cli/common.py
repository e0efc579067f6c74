"""What every command shares: loading the configuration, opening the store, printing JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # loaded by the commands that use them: `councils` needs none
    from scraper.settings.config import Settings
    from scraper.store import Store


def settings_from(args: argparse.Namespace) -> Settings:
    """The configuration named by --config, $OFSTED_WATCH_CONFIG or the default path."""
    from scraper.settings.load import config_path, load_settings

    return load_settings(config_path(args.config))


def store_from(settings: Settings) -> Store:
    from scraper.run.tasks import open_store

    return open_store(settings)


def print_json(data: Any, out: TextIO | None = None) -> None:
    """One JSON object on one line: what every --json option prints."""
    print(json.dumps(data, ensure_ascii=False, default=str), file=out or sys.stdout)
