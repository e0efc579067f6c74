"""Commands that list what is known: `reports`, `detections`, `councils`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scraper.cli.common import print_json, settings_from, store_from
from scraper.models import Council
from scraper.run.queries import (
    detection_rows,
    filter_councils,
    report_rows,
    search_councils,
    successors,
    suggest_councils,
)


def cmd_reports(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    rows = report_rows(store_from(settings), filter_councils(args.council), args.type, args.since)
    for data in rows:
        if args.json:
            print_json(data)
        else:
            name = data["councils"][0]["name"] if data["councils"] else data["council_name"]
            print(
                f"{data['published'] or '?':10}  {name[:24]:24} {data['report_type']:16} "
                f"{_judgement(data)} {data['label'][:50]}"
            )
            print(f"{'':12}{data['url']}")
    if not rows:
        filtered = args.council or args.type or args.since
        print(
            "no stored reports match"
            if filtered
            else "no reports stored yet; "
            "`ofsted-watch fetch` reads the Ofsted site, `ofsted-watch backfill` its history",
            file=sys.stderr,
        )
    return 0


def _judgement(data: dict[str, Any]) -> str:
    """'inadequate', 'visit 3' or '-': the facts a reader scans a listing for."""
    parts = [str(data.get("judgement") or "").replace("_", " ")]
    if data.get("visit_number"):
        parts.append(f"visit {data['visit_number']}")
    return f"{', '.join(p for p in parts if p) or '-':22}"


def cmd_detections(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store, councils = store_from(settings), filter_councils(args.council)
    rows = detection_rows(store, councils, args.type, args.since, include_baseline=args.all)
    silent = 0
    if not rows and not args.all:
        found = detection_rows(store, councils, args.type, args.since, include_baseline=True)
        silent = len(found)
    for data in rows:
        if args.json:
            print_json(data)
        else:
            names = ", ".join(c["name"] for c in data["councils"])
            print(
                f"{data['published'] or '?':10}  {data['kind']:13} {data['report_type'] or '-':16} "
                f"{names[:30]:30} {_judgement(data)} {data['title'][:70]}"
            )
            print(f"{'':12}{data['url'] or '-'}")
    if not rows:
        print(_no_detections(args, silent), file=sys.stderr)
    return 0


def _no_detections(args: argparse.Namespace, silent: int) -> str:
    """Say why the list is empty: a first poll records what is there silently (baseline)."""
    filtered = args.council or args.type or args.since
    head = "no detections match" if filtered else "no detections yet"
    if silent and not args.all:
        return f"{head}; {silent} recorded silently at baseline, see --all"
    return head


def cmd_councils(args: argparse.Namespace) -> int:
    hits = search_councils(args.query)
    if not hits:
        hint = ", ".join(suggest_councils(args.query))
        print(
            f"no council matches {args.query!r}" + (f" (did you mean: {hint}?)" if hint else ""),
            file=sys.stderr,
        )
        return 1
    for c in hits:
        if args.json:
            print_json(
                {
                    **c.ref(),
                    "official_name": c.name,
                    "dfe_la_code": c.dfe_la_code,
                    "region": c.region,
                    "aliases": list(c.aliases),
                    "delivery_bodies": list(c.delivery_bodies),
                    "current": c.current,
                    "valid_to": c.valid_to.isoformat() if c.valid_to else None,
                    "successors": [s.short_name for s in successors(c)],
                }
            )
        else:
            print(
                f"{c.short_name:32} {c.gss_code:10} DfE {c.dfe_la_code:4} "
                f"URN {c.ofsted_urn or '-':8} {c.name}{_abolished(c)}"
            )
    return 0


def _abolished(council: Council) -> str:
    """' (ABOLISHED 2019-03-31; now: X)' for a predecessor, so nobody puts it on a watchlist."""
    if council.current:
        return ""
    heirs = ", ".join(s.short_name for s in successors(council))
    ended = council.valid_to.isoformat() if council.valid_to else "?"
    return f"  (ABOLISHED {ended}" + (f"; now: {heirs})" if heirs else ")")
