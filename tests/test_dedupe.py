"""One story, one detection, one alert: the dedupe variants of issue 5 end to end.

Each test runs `ofsted-watch fetch` against feeds served from `tests/fixtures/news/dedupe_*` by a
loopback server, with a webhook channel whose receiver (a route on the same server) records
every POST. The first poll is a silent baseline over empty feeds; then the story appears, in
one or more shapes, over one or more polls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scraper.cli.commands import main
from scraper.store import Store
from tests.httpserver import FIXTURES, LocalServer, Request, Response

ITEMS = re.compile(rb"<item>.*?</item>|<entry>.*?</entry>", re.S)
CONTENT_TYPES = {".xml": "application/rss+xml; charset=UTF-8", ".atom": "application/atom+xml"}


class NewsWorld:
    """Feeds whose content a test switches between polls, and a webhook receiver."""

    def __init__(self, server: LocalServer, tmp_path: Path, db_url: str) -> None:
        self.server = server
        self.tmp_path = tmp_path
        self.db_url = db_url
        self.serving: dict[str, str | None] = {}  # feed path -> fixture name, None = empty
        self.shape: dict[str, str] = {}  # feed path -> fixture whose empty form is served
        server.route("/hook", Response(status=204))

    def feed(self, name: str, fixture: str) -> str:
        """Add a feed source `name`, empty until `show` puts `fixture` (or another) in it."""
        path = f"/{name}/feed"
        self.shape[path] = fixture
        self.serving[path] = None
        self.server.route(path, self._respond(path))
        return name

    def show(self, name: str, fixture: str | None) -> None:
        self.serving[f"/{name}/feed"] = fixture

    def _respond(self, path: str) -> Callable[[Request], Response]:
        def respond(_request: Request) -> Response:
            current = self.serving[path]
            fixture = current or self.shape[path]
            body = (FIXTURES / "news" / fixture).read_bytes()
            if current is None:
                body = ITEMS.sub(b"", body)
            content_type = CONTENT_TYPES[Path(fixture).suffix]
            return Response(body=body, headers={"Content-Type": content_type})

        return respond

    def config(self) -> Path:
        sources = "".join(
            f'\n[[sources]]\nname = "{path.split("/")[1]}"\ntype = "feed"\n'
            f'url = "{self.server.url(path)}"\n'
            for path in self.shape
        )
        path = self.tmp_path / "ofsted-watch.toml"
        path.write_text(
            f"""
[storage]
url = "{self.db_url}"

[http]
user_agent = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
allow_private = true
min_interval = 0.01
retries = 0
timeout = 5
deadline = 10

[daemon]
listen = ""

[watchlist]
councils = ["West Berkshire", "Reading", "Bath and North East Somerset"]

[[alerts]]
name = "newsroom"
type = "webhook"
url = "{self.server.url("/hook")}"
allow_private = true
{sources}
""",
            encoding="utf-8",
        )
        return path

    def poll(self) -> None:
        """One `ofsted-watch fetch`, which also delivers due alerts; every source must be ok."""
        assert main(["--config", str(self.config()), "fetch"]) == 0

    def detections(self, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict[str, Any]]:
        """`ofsted-watch detections --json`, parsed."""
        capsys.readouterr()
        assert main(["--config", str(self.config()), "detections", "--json", *extra]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]

    def webhooks(self) -> list[dict[str, Any]]:
        """The `data` objects of every webhook POST received so far."""
        posts = [e for e in self.server.log if e.path == "/hook" and e.method == "POST"]
        return [json.loads(e.request.body)["data"] for e in posts]


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[NewsWorld]:
    """Both back-ends: the story lookups are SQL, so each variant runs on SQLite and PostgreSQL."""
    with LocalServer() as server:
        yield NewsWorld(server, tmp_path, db_url)


def one_story(world: NewsWorld, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Assert exactly one detection and exactly one delivered webhook, for the same id."""
    found = world.detections(capsys)
    hooks = world.webhooks()
    assert len(found) == 1, [d["title"] for d in found]
    assert len(hooks) == 1, [h["title"] for h in hooks]
    assert hooks[0]["id"] == found[0]["id"]
    return found[0]


def test_dedupe_main_feed_and_tag_feed_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Community Care story in the main feed and the Ofsted tag feed is one detection."""
    main_feed = world.feed("cc-main", "dedupe_cc_main.xml")
    tag_feed = world.feed("cc-ofsted", "dedupe_cc_ofsted_tag.xml")
    world.poll()
    world.show(main_feed, "dedupe_cc_main.xml")
    world.show(tag_feed, "dedupe_cc_ofsted_tag.xml")
    world.poll()
    world.poll()  # the same entries seen again change nothing
    story = one_story(world, capsys)
    assert story["councils"][0]["name"] == "Reading"
    assert story["report_type"] == "monitoring_visit"


def test_dedupe_local_paper_and_google_news_same_poll_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A paper's own item and its Google News redirect ("Headline - Publisher"), in one cycle."""
    paper = world.feed("chronicle", "dedupe_local_paper.xml")
    google = world.feed("google-news", "dedupe_google_news.xml")
    world.poll()
    world.show(paper, "dedupe_local_paper.xml")
    world.show(google, "dedupe_google_news.xml")
    world.poll()
    world.poll()
    story = one_story(world, capsys)
    assert story["judgement"] == "requires_improvement"


def test_dedupe_google_news_first_then_publisher_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """Google News seen first, the publisher's own item a poll later: still one alert."""
    paper = world.feed("chronicle", "dedupe_local_paper.xml")
    google = world.feed("google-news", "dedupe_google_news.xml")
    world.poll()
    world.show(google, "dedupe_google_news.xml")
    world.poll()
    world.show(paper, "dedupe_local_paper.xml")
    world.poll()
    story = one_story(world, capsys)
    assert story["url"].startswith("https://news.google.com/rss/articles/")


def test_dedupe_google_news_similar_title_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Google News title differing by a word and curly quotes, same publisher host, merges."""
    paper = world.feed("chronicle", "dedupe_local_paper.xml")
    google = world.feed("google-news", "dedupe_google_news_similar.xml")
    world.poll()
    world.show(paper, "dedupe_local_paper.xml")
    world.poll()
    world.show(google, "dedupe_google_news_similar.xml")
    world.poll()
    story = one_story(world, capsys)
    assert story["url"].startswith("https://www.readingchronicle.co.uk/news/24990001.")


def test_dedupe_tracking_parameters_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """utm_* on one feed, ?ref=rss on another, later fbclid: one article, one alert."""
    site = world.feed("rbc-news", "dedupe_tracking_a.xml")
    section = world.feed("rbc-children", "dedupe_tracking_b.xml")
    world.poll()
    world.show(site, "dedupe_tracking_a.xml")
    world.poll()
    world.show(section, "dedupe_tracking_b.xml")
    world.poll()
    world.show(section, "dedupe_tracking_b_later.xml")
    world.poll()
    story = one_story(world, capsys)
    assert "utm_" not in story["url"] and "fbclid" not in story["url"]


def test_dedupe_scheme_www_and_slash_variants_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """https+www+slash, http without www or slash, and upper-case host:443#fragment are one."""
    names = [world.feed(f"newbury-{v}", f"dedupe_variants_{v}.xml") for v in "abc"]
    world.poll()
    for name, v in zip(names, "abc", strict=True):
        world.show(name, f"dedupe_variants_{v}.xml")
        world.poll()
    story = one_story(world, capsys)
    assert story["councils"][0]["name"] == "West Berkshire"


def test_dedupe_edited_title_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A later poll with the same URL and a rewritten title is the same detection."""
    radio = world.feed("kennet", "dedupe_edited_before.xml")
    world.poll()
    world.show(radio, "dedupe_edited_before.xml")
    world.poll()
    world.show(radio, "dedupe_edited_after.xml")
    world.poll()
    story = one_story(world, capsys)
    assert story["title"] == "Ofsted monitoring visit to West Berkshire children’s services"


def test_dedupe_edited_title_on_google_news_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Google News item keeps its redirect link when its headline is rewritten: one alert."""
    google = world.feed("google-news", "dedupe_google_news.xml")
    world.poll()
    world.show(google, "dedupe_google_news.xml")
    world.poll()
    world.show(google, "dedupe_google_news_edited.xml")
    world.poll()
    one_story(world, capsys)


def test_dedupe_edited_title_after_google_merge_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """Google first, then the publisher's item (merged), then the publisher edits its title."""
    paper = world.feed("chronicle", "dedupe_local_paper.xml")
    google = world.feed("google-news", "dedupe_google_news.xml")
    world.poll()
    world.show(google, "dedupe_google_news.xml")
    world.poll()
    world.show(paper, "dedupe_local_paper.xml")
    world.poll()
    world.show(paper, "dedupe_local_paper_edited.xml")
    world.poll()
    one_story(world, capsys)


def test_dedupe_govuk_atom_update_alert_once(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A GOV.UK Atom entry re-issued with a new id, updated stamp and title is one detection."""
    govuk = world.feed("ofsted-govuk", "dedupe_govuk_before.atom")
    world.poll()
    world.show(govuk, "dedupe_govuk_before.atom")
    world.poll()
    world.show(govuk, "dedupe_govuk_after.atom")
    world.poll()
    story = one_story(world, capsys)
    assert story["url"] == (
        "https://www.gov.uk/government/publications/west-berkshire-childrens-services-no-longer-inadequate"
    )


def test_dedupe_similar_titles_about_different_councils_not_merged(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """Near-identical headlines (one publisher) and identical ones (two newsrooms) about
    different councils stay four detections with four alerts."""
    cyp = world.feed("cypnow", "dedupe_different_councils.xml")
    rbc = world.feed("rbc-news", "dedupe_newsroom_reading.xml")
    wbc = world.feed("wbc-news", "dedupe_newsroom_westberks.xml")
    world.poll()
    world.show(cyp, "dedupe_different_councils.xml")
    world.show(rbc, "dedupe_newsroom_reading.xml")
    world.show(wbc, "dedupe_newsroom_westberks.xml")
    world.poll()
    found = world.detections(capsys)
    hooks = world.webhooks()
    assert len(found) == 4, [d["title"] for d in found]
    assert sorted(h["id"] for h in hooks) == sorted(d["id"] for d in found)
    councils = sorted(d["councils"][0]["name"] for d in found)
    assert councils == ["Reading", "Reading", "West Berkshire", "West Berkshire"]


def test_dedupe_baseline_story_never_alerts_when_seen_elsewhere(
    world: NewsWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A story recorded silently at a source's baseline does not alert when another feed has it."""
    paper = world.feed("chronicle", "dedupe_local_paper.xml")
    world.show(paper, "dedupe_local_paper.xml")
    world.poll()  # the paper's first poll is its baseline: recorded, not sent
    google = world.feed("google-news", "dedupe_google_news.xml")
    world.poll()  # Google News's own baseline (empty)
    world.show(google, "dedupe_google_news.xml")
    world.poll()
    assert world.detections(capsys) == [], "baseline rows are hidden by default"
    assert len(world.detections(capsys, "--all")) == 1
    assert world.webhooks() == []
    store = Store.open(world.db_url)
    assert [d["baseline"] for d in store.detections()] == [True]
