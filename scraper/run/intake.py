"""Taking in a council added to the watchlist: its history is recorded, not alerted.

The Ofsted source reads a newly watched council's provider page by itself (`SourceResult.intake`).
A news source remembers, in its cursor, the watchlist its items were judged against; when the
watchlist has grown, the next poll re-reads the whole feed (no conditional request, no skipping of
items already stored) and judges every item again, so stories already seen that name the new
council are recorded silently. What was published within `[watchlist] lookback` alerts. Items
that have already left the feed cannot be judged again: only their title and link are stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from scraper.models import Council, SourceResult
from scraper.store import PollRecord

WATCHED_KEY = "watched"  # cursor key: GSS codes of the watchlist a news source was judged against


def newly_watched(
    kind: str, cursor: Mapping[str, Any], watched: Sequence[Council]
) -> frozenset[str]:
    """GSS codes watched now that a news source's items were not judged against.

    Empty for the Ofsted source (it takes councils in itself) and for a cursor written before
    the watchlist was remembered (nothing to compare with: nothing is re-read).
    """
    before = cursor.get(WATCHED_KEY)
    if kind == "ofsted" or before is None:
        return frozenset()
    return frozenset(c.gss_code for c in watched) - frozenset(before)


def remember_watchlist(
    kind: str, result: SourceResult, cursor: Mapping[str, Any], watched: Sequence[Council]
) -> SourceResult:
    """The poll's cursor with the watchlist its items were judged against."""
    if kind == "ofsted":
        return result
    base = result.cursor if result.cursor is not None else cursor
    codes = sorted({c.gss_code for c in watched})
    if base.get(WATCHED_KEY) == codes:
        return result
    return replace(result, cursor={**base, WATCHED_KEY: codes})


def take_in_news(
    record: PollRecord, known: Collection[str], lookback: timedelta, now: datetime
) -> PollRecord:
    """Detections of items stored before (re-read for a newly watched council) are history,
    recorded silently, unless published within the lookback."""
    silent = frozenset(det_id for item, _, det_id in record.items if det_id and item.key in known)
    since = (now - lookback).date()
    loud = frozenset(
        det.id
        for det, _ in record.detections
        if lookback and det.id in silent and det.published is not None and det.published >= since
    )
    return replace(record, silent=record.silent | silent, loud=record.loud | loud)
