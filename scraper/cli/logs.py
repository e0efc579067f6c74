"""Logging set-up for the CLI and daemon: text for people, JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

_STANDARD = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "message"}
        )
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class OncePerProcess(logging.Filter):
    """Drops a record marked `extra={"once": True}` whose text was already logged: a warning
    that every poll repeats (an unknown report label) is news once, then noise."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "once", False):
            return True
        text = record.getMessage()
        if text in self._seen:
            return False
        self._seen.add(text)
        return True


def setup(*, verbose: int = 0, quiet: bool = False, fmt: str = "text", terse: bool = False) -> None:
    """Logging for one process. `terse` (a one-off command on a terminal) shows warnings only,
    since the command prints its own summary; -v brings back the INFO lines, -vv debug."""
    if quiet:
        level = logging.WARNING
    elif terse:
        level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    else:
        level = logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(OncePerProcess())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "apscheduler", "alembic", "mail.log", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not verbose else logging.INFO)
