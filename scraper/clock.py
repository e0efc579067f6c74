"""The one home of time: UTC inside, Europe/London only for display and schedules.

Everything that needs "now" takes a clock (`Callable[[], datetime]`) defaulting to `utcnow`, so
tests pass a fixed or stepping clock instead of sleeping or patching time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """A timestamp as the payload writes it: UTC, seconds, a trailing Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def london(moment: datetime) -> datetime:
    """A moment in Europe/London, for people to read."""
    return moment.astimezone(LONDON)
