"""Items per second: parse + classify + match over the labelled corpus, beside bare feedparser.

    python bench/match.py [--repeat 20] [--per-feed 25] [--rounds 5] [--all-councils]

The corpus (tests/corpus/news_items.json) becomes WordPress-shaped RSS feeds of `--per-feed`
items each (title, description, content:encoded), repeated `--repeat` times. Three timings over
the same bytes, each the best of `--rounds` in CPU seconds of this process (time waiting for
the CPU on a shared machine is not ours); the rounds interleave the timings, one of each per
round, so a burst of outside load falls on all of them alike:

* bare      `feedparser.parse(bytes)` only (what any feed reader pays);
* ours      `parse_feed` (entity check, lxml fast path or feedparser, text cleaning)
            + `classify` + `match`; `parse_feed` alone, and its feedparser path alone;
* matching  `classify` + `match` alone over the already-parsed items, two ways: as the
            pipeline runs them (`match` only for items `classify` finds relevant) and both on
            every item.

"matching adds X % to parsing" is matching time over `parse_feed` time; the aim is < 25 %.
It is printed against both parse paths: the fast path made parsing ~2.5× cheaper while matching
costs what it did, so the same matching is a larger share of a smaller whole.
The corpus is the worst case: nearly every item is an Ofsted or children's services story,
dense with the words the classifier weighs, where a real feed is mostly other news.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from scraper.ingest.sources.feed import parse_feed  # noqa: E402
from scraper.judge.classify import classify  # noqa: E402
from scraper.judge.councils import load_register  # noqa: E402
from scraper.judge.match import Matcher  # noqa: E402
from scraper.models import Item  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "news_items.json"
HEADERS = {"content-type": "application/rss+xml; charset=UTF-8"}


def corpus_feeds(items: Sequence[dict[str, Any]], repeat: int, per_feed: int) -> list[bytes]:
    """The corpus as RSS feeds of `per_feed` items, the whole corpus `repeat` times over."""
    entries = []
    for r in range(repeat):
        for e in items:
            url = f"https://news.example.org/{r}/{e['id']}/"
            entries.append(
                f"<item><title>{escape(e['title'])}</title><link>{url}</link>"
                f'<guid isPermaLink="false">{url}</guid>'
                "<pubDate>Mon, 16 Jun 2025 09:00:00 +0000</pubDate>"
                f"<description>{escape(e['summary'])}</description>"
                f"<content:encoded>{escape('<p>' + e['body'] + '</p>')}</content:encoded></item>"
            )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>Bench</title><link>https://news.example.org/</link>"
    )
    return [
        (head + "".join(entries[i : i + per_feed]) + "</channel></rss>").encode()
        for i in range(0, len(entries), per_feed)
    ]


def best_of_each(rounds: int, runs: dict[str, Callable[[], int]]) -> dict[str, tuple[float, int]]:
    """The fastest of `rounds` runs (CPU seconds) of each timing, and what it counted; each
    round runs every timing once, so a burst of outside load cannot favour one of them."""
    best = {name: (float("inf"), 0) for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.process_time()
            count = run()
            elapsed = time.process_time() - started
            best[name] = (min(best[name][0], elapsed), count)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--per-feed", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--all-councils", action="store_true", help="watch all councils")
    args = ap.parse_args(argv)

    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    register = load_register()
    watched = (
        list(register.all())
        if args.all_councils
        else [c for c in map(register.lookup, data["watchlist"]) if c is not None]
    )
    matcher = Matcher(watched, register)
    feeds = corpus_feeds(data["items"], args.repeat, args.per_feed)
    url = "https://news.example.org/feed/"

    def bare() -> int:
        return sum(len(feedparser.parse(body, response_headers=HEADERS).entries) for body in feeds)

    def parse_only() -> list[Item]:
        return [i for b in feeds for i in parse_feed(b, HEADERS, source="b", url=url).items]

    def parse_slow() -> int:
        return sum(
            len(parse_feed(b, HEADERS, source="b", url=url, fast=False).items) for b in feeds
        )

    parsed = parse_only()

    def detect(item: Item) -> bool:
        """The pipeline's order: match only what classify calls relevant."""
        return classify(item).relevant and bool(matcher.match(item).councils)

    def matching() -> int:
        return sum(1 for item in parsed if detect(item) or True)

    def matching_all() -> int:
        return sum(1 for item in parsed if (classify(item), matcher.match(item)))

    def ours() -> int:
        return sum(
            1
            for body in feeds
            for item in parse_feed(body, HEADERS, source="b", url=url).items
            if detect(item) or True
        )

    timings = best_of_each(
        args.rounds,
        {
            "bare": bare,
            "parse": lambda: len(parse_only()),
            "match": matching,
            "all": matching_all,
            "ours": ours,
            "slow": parse_slow,
        },
    )
    (t_bare, n), (t_parse, _), (t_match, _), (t_all, _), (t_ours, _), (t_slow, _) = timings.values()
    relevant = sum(classify(i).relevant for i in parsed)
    size = sum(map(len, feeds))
    print(
        f"items: {n} in {len(feeds)} feeds ({size / 1024:.0f} KiB), {relevant} relevant, "
        f"watching {len(watched)} councils"
    )
    print(f"bare feedparser.parse            {n / t_bare:9.0f} items/s  ({t_bare:.3f} s)")
    print(f"parse_feed                       {n / t_parse:9.0f} items/s  ({t_parse:.3f} s)")
    print(f"parse_feed, feedparser path      {n / t_slow:9.0f} items/s  ({t_slow:.3f} s)")
    print(f"parse_feed + classify + match    {n / t_ours:9.0f} items/s  ({t_ours:.3f} s)")
    print(f"classify + match alone           {n / t_match:9.0f} items/s  ({t_match:.3f} s)")
    print(f"classify + match, every item     {n / t_all:9.0f} items/s  ({t_all:.3f} s)")
    print(f"matching adds {100 * t_match / t_parse:.1f} % to parsing (parse_feed)")
    print(f"matching adds {100 * t_match / t_slow:.1f} % to parsing (parse_feed, feedparser path)")
    print(f"the whole stage takes {t_ours / t_bare:.2f}× the time of bare feedparser")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
