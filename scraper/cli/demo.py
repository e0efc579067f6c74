"""`ofsted-watch demo`: show what the tool does before anyone writes a configuration."""

from __future__ import annotations

import argparse
import json

from scraper.run.demo import run_demo


def cmd_demo(args: argparse.Namespace) -> int:
    print("ofsted-watch demo: a recorded Ofsted site and three news feeds, served on 127.0.0.1,")
    print("polled twice into a temporary database. Nothing leaves this machine.\n")
    result = run_demo()
    silent = sum(o.items for o in result.baseline.outcomes)
    print(f"1. First poll (baseline): {silent} reports and stories recorded silently;")
    print("   what is already published is history, not news.\n")
    print("2. The site publishes a letter and the feeds carry new stories. Second poll:")
    print(f"   {len(result.poll.detections)} new detection(s):\n")
    for det in result.poll.detections:
        data = det.payload()
        names = ", ".join(c.name for c in data.councils)
        kind = data.report_type or data.kind
        print(f"   {data.published or '?'!s:10}  {names[:28]:28} {kind:16} {data.title[:60]}")
        print(f"   {'':10}  {data.url or '-'}")
    if result.alert is not None:
        print('\n3. What a webhook channel (format = "json") receives for the first one:\n')
        print(json.dumps(result.alert, ensure_ascii=False, indent=2))
    print(
        "\nNext: write a config (see config/ofsted-watch.toml), then `ofsted-watch check-config`."
    )
    return 0
