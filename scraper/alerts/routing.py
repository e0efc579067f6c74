"""Which channels an alert for a detection goes to: each channel's councils, types and kinds."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scraper.alerts.channels import Channel
from scraper.models import Detection
from scraper.store import Route


def router(channels: Sequence[Channel]) -> Callable[[Detection], list[Route]]:
    """Routes for a detection: one per channel that wants it, digest channels marked."""

    def routes(det: Detection) -> list[Route]:
        return [Route(ch.name, ch.digest) for ch in channels if ch.wants(det)]

    return routes
