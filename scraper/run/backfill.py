"""Backfill: read the full Ofsted history of watched councils and store it (silently unless
asked to alert). An operation of its own so the CLI only renders its progress and result."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from scraper.ingest.fetch import Fetcher
from scraper.models import Council
from scraper.run.pipeline import Pipeline
from scraper.settings.config import Settings
from scraper.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CouncilBackfill:
    """What a backfill did for one council."""

    council: Council
    stored: int = 0  # reports now stored for the council
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class BackfillResult:
    councils: tuple[CouncilBackfill, ...] = ()

    @property
    def failed(self) -> bool:
        return any(not c.ok for c in self.councils)


Progress = Callable[[int, int, CouncilBackfill], None]


def backfill(
    settings: Settings,
    store: Store,
    councils: Sequence[Council],
    *,
    alert: bool = False,
    progress: Progress | None = None,
) -> BackfillResult:
    """Read each council's history through the Ofsted sources; `progress(n, total, done)`."""
    done: list[CouncilBackfill] = []
    with Fetcher(settings.http) as fetcher:
        for n, council in enumerate(councils, 1):
            one = replace(settings, watched=(council,))
            summary = Pipeline(one, store, fetcher).run_once(
                types=["ofsted"], full_history=True, alert=alert
            )
            errors = [f"{o.name}: {o.error}" for o in summary.outcomes if not o.ok]
            urns = [council.ofsted_urn] if council.ofsted_urn else []
            stored = len(store.reports(urns=urns)) if urns else 0
            result = CouncilBackfill(council, stored, "; ".join(errors) or None)
            log.info(
                "backfill council=%s reports=%d%s",
                council.short_name,
                stored,
                f" error={result.error}" if result.error else "",
            )
            done.append(result)
            if progress is not None:
                progress(n, len(councils), result)
    return BackfillResult(tuple(done))
