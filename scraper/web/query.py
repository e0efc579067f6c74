"""The filters shared by the pages and the API (the CLI's: council, type, kind, since) and the
opaque cursors of keyset pagination."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request

from scraper.judge.councils import load_register
from scraper.models import KINDS, REPORT_TYPES, Council
from scraper.store.views import DetectionKey, ReportKey

PAGE = 100  # rows per page by default
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Filters:
    """A request's filters, validated; `councils` is None when not filtered by council."""

    council: str = ""
    councils: tuple[Council, ...] | None = None
    report_type: str = ""
    kind: str = ""
    since: date | None = None
    cursor: str = ""
    limit: int = PAGE

    @property
    def gss_codes(self) -> list[str] | None:
        return None if self.councils is None else [c.gss_code for c in self.councils]

    @property
    def urns(self) -> list[str] | None:
        if self.councils is None:
            return None
        return [c.ofsted_urn for c in self.councils if c.ofsted_urn]

    def args(self, **extra: str) -> dict[str, str]:
        """The filters as query arguments (for the next page's link)."""
        out = {
            "council": self.council,
            "type": self.report_type,
            "kind": self.kind,
            "since": self.since.isoformat() if self.since else "",
        }
        return {k: v for k, v in {**out, **extra}.items() if v}


def parse_filters(request: Request) -> Filters:
    """Read and check the query string; a bad value is a 400 naming the parameter."""
    a = request.args
    council = a.get("council", "").strip()
    councils = None
    if council:
        councils = tuple(load_register().lookup_all(council))
        if not councils:
            raise BadRequest(f"council: no council matches {council!r}")
    report_type = a.get("type", "")
    if report_type and report_type not in REPORT_TYPES:
        raise BadRequest(f"type: must be one of {', '.join(REPORT_TYPES)}")
    kind = a.get("kind", "")
    if kind and kind not in KINDS:
        raise BadRequest(f"kind: must be one of {', '.join(KINDS)}")
    try:
        since = date.fromisoformat(a["since"]) if a.get("since") else None
    except ValueError as exc:
        raise BadRequest("since: must be YYYY-MM-DD") from exc
    try:
        limit = min(max(int(a.get("limit", PAGE)), 1), MAX_PAGE)
    except ValueError as exc:
        raise BadRequest("limit: must be a whole number") from exc
    return Filters(council, councils, report_type, kind, since, a.get("cursor", ""), limit)


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise BadRequest("cursor: not one this server gave out") from exc
    if not isinstance(value, list) or len(value) != 2:
        raise BadRequest("cursor: not one this server gave out")
    return value


def detection_after(cursor: str) -> DetectionKey | None:
    if not cursor:
        return None
    first_seen, det_id = _decode(cursor)
    try:
        return DetectionKey(datetime.fromisoformat(str(first_seen)), str(det_id))
    except ValueError as exc:
        raise BadRequest("cursor: not one this server gave out") from exc


def detection_cursor(row: dict[str, Any]) -> str:
    return encode_cursor([row["first_seen"].isoformat(), row["id"]])


def report_after(cursor: str) -> ReportKey | None:
    if not cursor:
        return None
    published, rid = _decode(cursor)
    if not isinstance(rid, int):
        raise BadRequest("cursor: not one this server gave out")
    return ReportKey(str(published), rid)


def report_cursor(row: dict[str, Any]) -> str:
    return encode_cursor([row["published"] or "", row["id"]])


def fetch_detections(store: Any, f: Filters) -> tuple[list[dict[str, Any]], str | None]:
    """One page of detections and the cursor of the next (None on the last page)."""
    rows = store.detection_page(
        gss_codes=f.gss_codes,
        report_type=f.report_type or None,
        kind=f.kind or None,
        since=f.since,
        after=detection_after(f.cursor),
        limit=f.limit + 1,
    )
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    return rows, detection_cursor(rows[-1]) if more else None


def fetch_reports(store: Any, f: Filters) -> tuple[list[dict[str, Any]], str | None]:
    rows = store.report_page(
        urns=f.urns,
        report_type=f.report_type or None,
        since=f.since,
        after=report_after(f.cursor),
        limit=f.limit + 1,
    )
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    return rows, report_cursor(rows[-1]) if more else None
