"""Backfill: read the full Ofsted history of watched councils and store it (silently unless
asked to alert). An operation of its own so the CLI only renders its progress and result.

One poll of each Ofsted source covers every council asked for: the two listing pages are read
once, then one provider page per council and the report files it needs. Only when that poll
fails are the councils retried one at a time, so one council's broken page is reported against
that council while the others are still stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from scraper.errors import ConfigError
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
    new: int = 0  # reports stored by this backfill
    known: int = 0  # reports that were already stored
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stored(self) -> int:
        return self.new + self.known


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
    """Read the councils' history; `progress(n, total, done)` after each council is settled."""
    if not any(s.type == "ofsted" for s in settings.sources):
        raise ConfigError(
            settings.path,
            "sources",
            'backfill reads the Ofsted site, but no enabled source has type = "ofsted"',
        )
    before = _stored(store, councils)
    with Fetcher(settings.http) as fetcher:
        error = _poll(settings, store, fetcher, councils, alert)
        errors: dict[str, str | None] = dict.fromkeys((c.gss_code for c in councils), error)
        if error is not None and len(councils) > 1:
            log.warning("backfill of %d councils failed (%s); one at a time", len(councils), error)
            for council in councils:
                errors[council.gss_code] = _poll(settings, store, fetcher, [council], alert)
    after = _stored(store, councils)
    done: list[CouncilBackfill] = []
    for n, council in enumerate(councils, 1):
        key = council.gss_code
        result = CouncilBackfill(
            council, len(after[key] - before[key]), len(before[key]), errors[key]
        )
        log.info(
            "backfill council=%s new=%d already_stored=%d%s",
            council.short_name,
            result.new,
            result.known,
            f" error={result.error}" if result.error else "",
        )
        done.append(result)
        if progress is not None:
            progress(n, len(councils), result)
    return BackfillResult(tuple(done))


def _poll(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    councils: Sequence[Council],
    alert: bool,
) -> str | None:
    """One full-history poll of the Ofsted sources for `councils`; the error, if any."""
    narrowed = replace(settings, watched=tuple(councils))
    summary = Pipeline(narrowed, store, fetcher).run_once(
        types=["ofsted"], full_history=True, alert=alert
    )
    errors = [f"{o.name}: {o.error}" for o in summary.outcomes if not o.ok]
    return "; ".join(errors) or None


def _stored(store: Store, councils: Sequence[Council]) -> dict[str, set[str]]:
    """Report keys stored per council (by GSS code)."""
    out: dict[str, set[str]] = {}
    for council in councils:
        urns = [council.ofsted_urn] if council.ofsted_urn else []
        rows = store.reports(urns=urns) if urns else []
        out[council.gss_code] = {str(r["report_key"]) for r in rows}
    return out
