"""Story identity and incomplete items: what stands between judged items and stored detections.

One story reaching several feeds must become one detection (one alert), and an item cut short
must not be alerted without the link people need to open it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from scraper.judge.detect import StoryIndex, item_story_key, story_ref_from_row
from scraper.models import Detection, Item
from scraper.store import Store

log = logging.getLogger(__name__)
HELD_KEY = "held_incomplete"  # cursor key: items held back for lacking a link or title
STORY_MERGE_WINDOW = timedelta(days=14)


class StoryIdentity:
    """Gives each news detection the id of its story, from an index loaded once a poll."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Stories registered by this process's polls, until the database answers for them.
        self._claimed = StoryIndex()
        self._lock = threading.Lock()

    def identify(
        self, found: Sequence[tuple[Item, Detection]], now: datetime, *, dry_run: bool
    ) -> list[Detection]:
        """Each detection under its story's id, from an index loaded once for this poll.

        The database answers for what is stored; `claimed` for stories this process registered
        in a concurrent poll and may not have committed yet (one story reaching two feeds in one
        cycle must alert once). Only the in-memory merge is under the lock, never a query.
        """
        if not found:
            return []
        since = now - STORY_MERGE_WINDOW
        index = StoryIndex(
            known=self.store.known_detection_ids([d.id for _, d in found]),
            by_key=self.store.detections_by_story(
                [k for k in (item_story_key(i) for i, _ in found) if k]
            ),
            recent=[story_ref_from_row(row) for row in self.store.recent_news(since)],
        )
        with self._lock:
            index.absorb(self._claimed)
            identified = [index.identify(item, det, now, since) for item, det in found]
            if not dry_run:
                self._claimed.absorb(index)
                self._claimed.forget_before(since)
        return identified


def hold_incomplete(
    source: str, found: list[tuple[Item, Detection]], held_before: Collection[str]
) -> tuple[list[tuple[Item, Detection]], set[str]]:
    """Detections without their item's link or title wait one poll for the whole item.

    A feed cut mid-item (a truncated response still parses) yields an item without a link;
    alerting it would send a story nobody can open, and the whole item arriving later merges
    into it unsent. So it is left unstored and its key kept in the source's cursor; if the next
    poll still lacks the link or title, what is there is alerted. Returns (kept, held keys).
    """
    kept, held = [], set()
    for item, det in found:
        if not item.url or not item.title.strip():
            hold = item.key not in held_before
            log.warning(
                "source=%s %s item without its %s key=%s",
                source,
                "holding until the next poll an" if hold else "alerting, still incomplete, an",
                "link" if not item.url else "title",
                item.key,
            )
            if hold:
                held.add(item.key)
                continue
        kept.append((item, det))
    return kept, held
