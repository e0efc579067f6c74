"""What every command shares: loading the configuration, opening the store, printing JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from scraper.run.tasks import open_store
from scraper.settings.config import Settings
from scraper.settings.load import config_path, load_settings
from scraper.store import Store


def settings_from(args: argparse.Namespace) -> Settings:
    """The configuration named by --config, $OFSTED_WATCH_CONFIG or the default path."""
    return load_settings(config_path(args.config))


def store_from(settings: Settings) -> Store:
    return open_store(settings)


def print_json(data: Any, out: TextIO | None = None) -> None:
    """One JSON object on one line: what every --json option prints."""
    print(json.dumps(data, ensure_ascii=False, default=str), file=out or sys.stdout)
