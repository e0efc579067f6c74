"""The one fake of the fetch layer for source tests: canned responses, recorded calls.

It keeps the fetch contract sources rely on, so a source tested against it behaves as against
`scraper.ingest.fetch`: anything but a 2xx or a 304 raises FetchError (a source never sees
one), and `stats` counts requests and body bytes as a FetchView does, which is where a poll's
counts come from (`scraper.ingest.sources.poll_counted`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scraper.errors import FetchError
from scraper.ingest.fetch_state import FetchStats
from scraper.models import Fetched, Validators


@dataclass
class FakeFetch:
    """Implements the Fetch protocol with `responses`, in order; records each call."""

    responses: list[Fetched]
    calls: list[dict[str, Any]] = field(default_factory=list)
    stats: FetchStats = field(default_factory=FetchStats)

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        max_bytes: int | None = None,
        accept: str | None = None,
    ) -> Fetched:
        self.calls.append(
            {"url": url, "validators": validators, "max_bytes": max_bytes, "accept": accept}
        )
        fetched = self.responses.pop(0)
        self.stats = FetchStats(self.stats.requests + 1, self.stats.bytes_read + len(fetched.body))
        if fetched.status != 304 and not 200 <= fetched.status < 300:
            raise FetchError(url, f"HTTP {fetched.status}", status=fetched.status)
        return fetched
