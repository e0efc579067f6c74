"""What the Ofsted source remembers between polls: per-council memory and the listing pages.

Kept apart from the polling so that its rules (what counts as unchanged, when a missing file is
looked at again, how one council's memory is put back after a failure) read in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from scraper.ingest.sources.ofsted_html import ListingEntry

log = logging.getLogger(__name__)

MISSING_TRIES = 5  # polls a new report's "Report not found" file is retried before it is recorded


@dataclass(slots=True)
class Memory:
    """The cursor's memory of watched councils, kept for every URN, watched in this run or not.

    `latest`: URN -> the listing's "Latest report" date last acted on; `seen`: URN -> report
    keys; `missing`: URN -> {key: polls} for new reports whose file was not there yet.
    """

    latest: dict[str, str | None]
    seen: dict[str, list[str]]
    missing: dict[str, dict[str, int]]
    has_baseline: bool  # the source has polled successfully before (the pipeline's baseline)

    @classmethod
    def load(cls, cursor: Mapping[str, Any]) -> Memory:
        return cls(
            latest=dict(cursor.get("latest", {})),
            seen={u: list(k) for u, k in cursor.get("seen", {}).items()},
            missing={u: dict(k) for u, k in cursor.get("missing", {}).items()},
            has_baseline="seen" in cursor,
        )

    def dump(self) -> dict[str, Any]:
        missing = {u: k for u, k in self.missing.items() if k}
        return {"latest": self.latest, "seen": self.seen, "missing": missing}

    def unchanged(self, urn: str, stamp: str | None) -> bool:
        """Nothing to read: same latest date, page read before, no file awaited."""
        return (
            urn in self.latest
            and self.latest[urn] == stamp
            and urn in self.seen
            and not self.missing.get(urn)
        )

    def keep(self, urn: str) -> tuple[list[str] | None, dict[str, int] | None]:
        """A copy of one council's memory, to put back if reading it fails part-way."""
        seen, missing = self.seen.get(urn), self.missing.get(urn)
        return (list(seen) if seen is not None else None, dict(missing) if missing else None)

    def restore(self, urn: str, kept: tuple[list[str] | None, dict[str, int] | None]) -> None:
        seen, missing = kept
        if seen is None:
            self.seen.pop(urn, None)
        else:
            self.seen[urn] = seen
        if missing is None:
            self.missing.pop(urn, None)
        else:
            self.missing[urn] = missing

    def is_newly_watched(self, urn: str) -> bool:
        return self.has_baseline and urn not in self.seen

    def retry_later(self, urn: str, key: str, full_history: bool) -> bool:
        """True to skip an unavailable new report this poll and look again next poll.

        A new file may answer "Report not found" for a while after its link appears; history
        (baseline, backfill) is recorded as unavailable at once.
        """
        if full_history or not self.has_baseline:
            return False
        waiting = self.missing.setdefault(urn, {})
        tries = waiting.get(key, 0) + 1
        if tries < MISSING_TRIES:
            waiting[key] = tries
            log.warning(
                "report file not there yet, looking again next poll key=%s try=%d/%d",
                key,
                tries,
                MISSING_TRIES,
            )
            return True
        waiting.pop(key, None)
        log.warning("report file still missing, recorded as unavailable key=%s", key)
        return False


def entry_to_dict(entry: ListingEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["latest_report"] = entry.latest_report.isoformat() if entry.latest_report else None
    return data


def entry_from_dict(data: Mapping[str, Any]) -> ListingEntry:
    latest = data.get("latest_report")
    return ListingEntry(
        urn=str(data["urn"]),
        name=str(data["name"]),
        provider_url=str(data["provider_url"]),
        latest_report=date.fromisoformat(latest) if latest else None,
    )
