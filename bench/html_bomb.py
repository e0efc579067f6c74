"""Time and peak memory of a hostile `html` page: unclosed nested <div>, before and after.

    python bench/html_bomb.py [--mib 1 10] [--timeout 300]

Each measurement runs in a fresh process (peak RSS is per process) over `<html><body>` plus
`<div>` repeated to the given size:

* before   `BeautifulSoup(body, "lxml")`, what the html source did with any page under its cap;
* after    `parse_html_page`, which refuses the page in a streaming libxml2 pass first.

It also prints what the fetch layer does first: the default cap for HTML pages (a page above it
is refused before parsing unless the source raises `max_bytes`). "before" at 10 MiB takes
minutes on a 2-core machine; pass `--mib 1` for a quick look.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from scraper.errors import ParseError
from scraper.ingest.sources.html import HtmlSelectors, parse_html_page
from bs4 import BeautifulSoup
body = b"<html><body>" + b"<div>" * ({mib} * 1024 * 1024 // 5)
warm = b"<html><body><div><a href='/x'>x</a></div>"  # first-call set-up is not the page's cost
BeautifulSoup(warm, "lxml")
warm_sel = HtmlSelectors("div", "a", "a")
parse_html_page(warm, None, source="s", url="https://example.org/", selectors=warm_sel)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
outcome = "parsed"
if {mode!r} == "before":
    BeautifulSoup(body, "lxml").select("article")
else:
    try:
        parse_html_page(body, None, source="s", url="u", selectors=HtmlSelectors("a", "a", "a"))
    except ParseError as exc:
        outcome = exc.reason
took = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": took, "peak_mb": peak / 1024, "added_mb": (peak - base) / 1024,
                  "outcome": outcome}}))
"""


def measure(mode: str, mib: int, timeout: float) -> dict[str, object]:
    """One measurement in a child process; `None` figures when it ran past `timeout`."""
    code = _CHILD.format(root=str(ROOT), mib=mib, mode=mode)
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "peak_mb": None, "added_mb": None, "outcome": "timed out"}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from scraper.ingest.sources.html import HTML_MAX_BYTES, MAX_DEPTH, MAX_ELEMENTS

    print(
        f"default cap for HTML pages: {HTML_MAX_BYTES / 2**20:g} MiB; "
        f"limits: {MAX_ELEMENTS} elements, depth {MAX_DEPTH}"
    )
    print(f"{'page':>7} {'path':7} {'seconds':>9} {'peak MB':>8} {'added MB':>9}  outcome")
    for mib in args.mib:
        rows = {mode: measure(mode, mib, args.timeout) for mode in ("before", "after")}
        for mode, row in rows.items():
            secs, peak, added = (row[k] for k in ("seconds", "peak_mb", "added_mb"))
            print(
                f"{mib:>4} MiB {mode:7} {_fmt(secs, 9, 3)} {_fmt(peak, 8, 0)} "
                f"{_fmt(added, 9, 0)}  {row['outcome']}"
            )
        before, after = rows["before"], rows["after"]
        if isinstance(before["seconds"], float) and isinstance(after["seconds"], float):
            speed = before["seconds"] / max(after["seconds"], 1e-6)
            added = (before["added_mb"] or 0.0) / max(float(after["added_mb"] or 0.0), 1.0)  # type: ignore[arg-type]
            print(f"{mib:>4} MiB ratio   {speed:,.0f}x faster, {added:,.0f}x less added memory")


def _fmt(value: object, width: int, digits: int) -> str:
    return f"{value:>{width}.{digits}f}" if isinstance(value, float) else f"{'-':>{width}}"


if __name__ == "__main__":
    main()
