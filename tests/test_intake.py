"""The watchlist means what it says: a council added later is taken in by itself, silently,
except what `[watchlist] lookback` still calls news; the same lookback for a new source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from scraper.cli.commands import main
from tests.daemonkit import NewsFeed, feed, write_config
from tests.httpserver import LocalServer, Response
from tests.ofsted_world import OfstedWorld
from tests.test_ofsted_e2e import write_config as ofsted_config

RSS = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def world() -> Iterator[OfstedWorld]:
    with LocalServer() as server:
        yield OfstedWorld(server)


def _json(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    capsys.readouterr()
    code = main(["--config", str(config), *args, "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert code == 0
    return lines


def _watch(config: Path, councils: list[str], lookback: str = "0d") -> None:
    text = config.read_text(encoding="utf-8")
    text = "\n".join(x for x in text.split("\n") if not x.startswith("lookback = "))
    start = text.index("councils = ")
    end = text.index("\n", start)
    line = f"councils = {json.dumps(councils)}\nlookback = {json.dumps(lookback)}"
    config.write_text(text[:start] + line + text[end:], encoding="utf-8")


def test_added_council_history_is_stored_silently_without_backfill(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """After Reading joins the watchlist, the next fetch stores its 7 reports and alerts none."""
    config = ofsted_config(tmp_path, world, ["West Berkshire"])
    assert _json(config, capsys, "fetch") == []
    _watch(config, ["West Berkshire", "Reading"])
    assert _json(config, capsys, "fetch") == []  # nothing alerted
    stored = _json(config, capsys, "reports", "--council", "Reading")
    assert len(stored) == 7
    assert _json(config, capsys, "detections") == []  # recorded silently


def test_added_council_within_lookback_alerts(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a lookback, the added council's reports published within it alert; older ones
    are recorded silently."""
    config = ofsted_config(tmp_path, world, ["West Berkshire"])
    assert _json(config, capsys, "fetch") == []
    since = date(2023, 1, 1)
    days = (date.today() - since).days
    _watch(config, ["West Berkshire", "Reading"], lookback=f"{days}d")
    alerted = _json(config, capsys, "fetch")
    stored = _json(config, capsys, "reports", "--council", "Reading")
    cutoff = (date.today() - timedelta(days=days)).isoformat()
    recent = {
        str(r["id"])
        for r in stored
        if r["published"] and str(r["published"]) >= cutoff and r["report_type"] != "other"
    }
    assert recent and len(recent) < len(stored)
    assert {str(d["id"]) for d in alerted} == recent


def test_new_source_first_poll_alerts_within_lookback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new source's first poll is silent, except items published within the lookback."""
    with LocalServer() as server:
        server.route("/a", NewsFeed(count=2, first=0))  # stories dated 16 Nov 2026
        server.route("/b", NewsFeed(count=2, first=10))
        db = f"sqlite:///{tmp_path}/ow.db"
        config = write_config(tmp_path / "c.toml", db, feed("a", server.url("/a")), listen="")
        assert _json(config, capsys, "fetch") == []
        days = (date.today() - date(2026, 11, 16)).days + 2
        _watch(config, ["West Berkshire"], lookback=f"{days}d")
        config.write_text(
            config.read_text(encoding="utf-8") + feed("b", server.url("/b")), encoding="utf-8"
        )
        alerted = _json(config, capsys, "fetch")
    assert len(alerted) == 2 and {d["source"] for d in alerted} == {"b"}


def _news_rss(stories: list[tuple[str, str, str, int]]) -> bytes:
    """An RSS feed of (key, title, description, days ago) items, dated from today."""
    from email.utils import format_datetime

    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>{title}</title><link>https://news.example.org/{key}</link>"
        f"<guid>https://news.example.org/{key}</guid><description>{text}</description>"
        f"<pubDate>{format_datetime(now - timedelta(days=ago))}</pubDate></item>"
        for key, title, text, ago in stories
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Local news</title>'
        f"<link>https://news.example.org/</link><description>n</description>{items}"
        "</channel></rss>"
    ).encode()


NEWS = [
    (
        "wb-old",
        "Ofsted monitoring visit finds progress in West Berkshire children's services",
        "Inspectors found West Berkshire Council's children's social care improving at their "
        "latest monitoring visit.",
        40,
    ),
    (
        "wb-new",
        "West Berkshire children's services still inadequate, Ofsted monitoring visit finds",
        "The Ofsted monitoring visit letter says West Berkshire Council's help and protection "
        "for children has not improved enough.",
        3,
    ),
    (
        "rdg",
        "Ofsted says Reading children's services require improvement",
        "Inspectors judged Reading's children's services to require improvement to be good.",
        10,
    ),
]


@pytest.mark.parametrize(("lookback", "alerted"), [("0d", []), ("14d", ["wb-new"])])
def test_added_council_news_already_seen_is_taken_in_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lookback: str, alerted: list[str]
) -> None:
    """Stories already seen that name a council added later are judged again and recorded
    silently, except those published within the lookback, which alert."""
    with LocalServer() as server:
        server.route("/news", Response(body=_news_rss(NEWS), headers=RSS))
        config = write_config(
            tmp_path / "c.toml", f"sqlite:///{tmp_path}/ow.db", feed("news", server.url("/news"))
        )
        _watch(config, ["Reading"])
        assert _json(config, capsys, "fetch") == []  # the baseline
        assert _json(config, capsys, "fetch") == []  # nothing new
        _watch(config, ["Reading", "West Berkshire"], lookback)
        _json(config, capsys, "fetch", "--no-alerts")
        every = {d["url"].rsplit("/", 1)[-1] for d in _json(config, capsys, "detections", "--all")}
        assert {"wb-old", "wb-new", "rdg"} <= every
        loud = [d["url"].rsplit("/", 1)[-1] for d in _json(config, capsys, "detections")]
        assert loud == alerted
        assert _json(config, capsys, "fetch") == []  # taken in once: nothing again
