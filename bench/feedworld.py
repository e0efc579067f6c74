"""The loopback world the benchmarks poll: WordPress-style feeds served on many local ports.

`lean_feed` is one ~42 KB RSS feed of 50 items. `window_feed` is the same shape for one source
at one moment: a sliding window of its 50 newest items, so moving the window by one is "one new
item" (and one dropped off the end), as a real news feed behaves. `FeedWorld` serves `hosts`
ports from a child process (so the servers' CPU and memory are never counted as the client's),
with `latency` before every answer, ETags honoured, and a shared request counter.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _item(tag: str, number: int, minute: int) -> str:
    return (
        f"<item><title>Story {tag}-{number}: council budget and planning update</title>"
        f"<link>https://news.example.org/2026/11/{number}/story-{tag}-{number}/</link>"
        f'<guid isPermaLink="false">https://news.example.org/?p={tag}-{number}</guid>'
        f"<pubDate>Mon, 16 Nov 2026 {9 + minute // 60:02d}:{minute % 60:02d}:00 +0000</pubDate>"
        "<dc:creator><![CDATA[Reporter]]></dc:creator>"
        "<category><![CDATA[Local]]></category><category><![CDATA[Politics]]></category>"
        "<description><![CDATA[<p>Councillors met on Tuesday to discuss the budget, "
        "road repairs, the library service and plans for new housing near the station; "
        "residents asked questions about parking and bins.</p>]]></description>"
        f'<enclosure url="https://news.example.org/img/{number}.jpg" length="1000" '
        'type="image/jpeg"/>'
        "</item>"
    )


def _rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Bench</title>'
        "<link>https://news.example.org/</link><description>bench</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def lean_feed(n_items: int = 50, version: int = 0) -> bytes:
    """A ~41 KB WordPress-style RSS feed of 50 items; each `version` is wholly different."""
    return _rss([_item(str(version), i, i % 60) for i in range(n_items)])


@lru_cache(maxsize=1024)
def window_feed(source: int, first: int, n_items: int = 50) -> bytes:
    """Source `source`'s feed when its newest item is number `first + n_items - 1`: newest
    first, so `first + 1` is the same feed with one new item on top and the oldest gone."""
    numbers = range(first + n_items - 1, first - 1, -1)
    return _rss([_item(f"s{source}", n, n % 600) for n in numbers])


class FeedWorld:
    """`hosts` loopback ports serving `per_host` feeds each from a child process.

    `version` (shared) is every feed's window position; `requests` counts every request
    answered, robots.txt included.
    """

    def __init__(self, hosts: int, per_host: int, latency: float) -> None:
        self.hosts, self.per_host, self.latency = hosts, per_host, latency
        self.version: Any = mp.Value("i", 0)
        self.requests: Any = mp.Value("i", 0)
        self._stop = mp.Event()
        self._ports: Any = mp.Queue()
        self._child = mp.Process(target=self._serve, daemon=True)
        self.ports: list[int] = []

    def __enter__(self) -> FeedWorld:
        self._child.start()
        self.ports = self._ports.get(timeout=60)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._child.join(timeout=10)

    def urls(self) -> list[str]:
        """Every feed's URL, source index order (host by host)."""
        return [f"http://127.0.0.1:{p}/feed{j}" for p in self.ports for j in range(self.per_host)]

    def _serve(self) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.httpserver import LocalServer

        servers = []
        for h in range(self.hosts):
            server = LocalServer(latency=self.latency).__enter__()
            server.route("/robots.txt", self._robots())
            for j in range(self.per_host):
                server.route(f"/feed{j}", self._route(h * self.per_host + j))
            servers.append(server)
        self._ports.put([s.port for s in servers])
        self._stop.wait()
        for s in servers:
            s.close()

    def _count(self) -> None:
        with self.requests.get_lock():
            self.requests.value += 1

    def _robots(self) -> Callable[[Any], Any]:
        from tests.httpserver import Response

        def respond(_request: Any) -> Any:
            self._count()
            return Response(status=404, body=b"no robots.txt")

        return respond

    def _route(self, index: int) -> Callable[[Any], Any]:
        from tests.httpserver import Response

        def respond(request: Any) -> Any:
            self._count()
            version = self.version.value
            tag = f'"{index}-{version}"'
            if request.headers.get("if-none-match") == tag:
                return Response(status=304, headers={"ETag": tag})
            headers = {"ETag": tag, "Content-Type": "application/rss+xml; charset=UTF-8"}
            return Response(body=window_feed(index, version), headers=headers)

        return respond
