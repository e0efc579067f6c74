"""Detections: story identity (pure), what a stored detection carries, and the corpus traps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest

from scraper.cli.commands import main
from scraper.judge.councils import load_register
from scraper.judge.detect import (
    StoryRef,
    find_story,
    item_story_key,
    news_detection_id,
    publisher_host,
    same_story,
    story_ref_from_row,
    title_key,
    title_similarity,
)
from scraper.models import Item
from scraper.store import Store
from tests.httpserver import LocalServer, Response

CORPUS = json.loads(
    (Path(__file__).parent / "corpus" / "news_items.json").read_text(encoding="utf-8")
)
BY_ID: dict[str, dict[str, Any]] = {e["id"]: e for e in CORPUS["items"]}
NOW = datetime(2025, 6, 17, 12, 0, tzinfo=UTC)
GOOGLE = (
    "https://news.google.com/rss/articles/CBMiTmh0dHBzOi8vd3d3LmV4YW1wbGUuY28udWsvbmV3cy8x0gEA?oc=5"
)


def item(url: str | None, title: str = "Headline", **kw: Any) -> Item:
    return Item(source="t", key=url or title, title=title, url=url, published=None, **kw)


def ref(
    key: str, *, host: str | None = "paper.test", councils: str = "E06000038", **kw: Any
) -> StoryRef:
    return StoryRef(
        id=kw.pop("id", f"news:{key}"),
        title_key=title_key(key),
        host=host,
        councils=frozenset(councils.split()),
        first_seen=kw.pop("first_seen", NOW),
    )


# -- identity (pure) ------------------------------------------------------------------------


def test_item_story_key_same_for_link_variants() -> None:
    """Tracking, scheme, www., default port, fragment and trailing slash keep one story key."""
    links = [
        "https://www.paper.test/news/1-story/",
        "http://paper.test/news/1-story",
        "https://PAPER.test:443/news/1-story/#comments",
        "https://www.paper.test/news/1-story/?utm_source=rss&utm_medium=rss",
        "https://www.paper.test/news/1-story/?ref=rss",
        "https://www.paper.test/news/1-story/?fbclid=IwAR0abc",
    ]
    assert len({item_story_key(item(u)) for u in links}) == 1
    assert len({news_detection_id(item(u, f"title {n}")) for n, u in enumerate(links)}) == 1


def test_news_detection_id_google_redirect_survives_title_edit() -> None:
    """A Google News item is known by its redirect link, so a rewritten headline keeps its id."""
    before = item(GOOGLE, "Old headline", publisher="Paper")
    after = item(GOOGLE.replace("?oc=5", ""), "New headline", publisher="Paper")
    assert news_detection_id(before) == news_detection_id(after)
    assert news_detection_id(item(None, "Old headline")) != news_detection_id(item(None, "New"))


def test_publisher_host_reads_source_url_behind_redirect() -> None:
    """Behind a Google redirect the publisher host is `<source url>`'s; otherwise the link's."""
    google = item(GOOGLE, publisher_url="https://www.readingchronicle.co.uk")
    assert publisher_host(google) == "readingchronicle.co.uk"
    assert publisher_host(item(GOOGLE)) is None
    assert publisher_host(item("http://www.Paper.test/a")) == "paper.test"


def test_title_key_strips_google_publisher_suffix() -> None:
    """ "Headline - Publisher" and the publisher's own "Headline" give one title key."""
    assert title_key("Reading’s services improve - Reading Chronicle", "Reading Chronicle") == (
        title_key("Reading's services improve")
    )


def test_title_similarity_is_word_jaccard() -> None:
    """Similarity is the share of words in common; punctuation and case do not count."""
    a = title_key("Ofsted says Reading children's services 'require improvement' after wait")
    b = title_key("Ofsted says Reading children’s services still ‘require improvement’ after wait")
    assert title_similarity(a, a) == 1.0
    assert 0.8 <= title_similarity(a, b) < 1.0
    assert title_similarity(a, title_key("Reading Festival line-up")) < 0.2


def test_same_story_needs_a_common_council() -> None:
    """Identical titles about different councils are different stories."""
    reading = ref("Ofsted monitoring visit letter published", councils="E06000038")
    westberks = ref("Ofsted monitoring visit letter published", councils="E06000037")
    assert same_story(reading, westberks) == 0.0
    assert same_story(reading, ref("Ofsted monitoring visit letter published")) > 0.0


def test_same_story_similar_title_needs_same_or_unknown_publisher() -> None:
    """A similar (not equal) title merges for the same host or an unknown one, not another host."""
    title = "Ofsted says Reading children's services require improvement after three-year wait"
    similar = (
        "Ofsted says Reading children's services still require improvement after three-year wait"
    )
    assert same_story(ref(title), ref(similar)) >= 0.8
    assert same_story(ref(title), ref(similar, host=None)) >= 0.8
    assert same_story(ref(title), ref(similar, host="bbc.co.uk")) == 0.0
    assert same_story(ref(title), ref(title, host="bbc.co.uk")) > 0.0  # syndicated copy


def test_find_story_prefers_exact_title_and_ignores_old_stories() -> None:
    """The best match wins; a story first seen before the merge window is not merged into."""
    title = "Ofsted says Reading children's services require improvement after three-year wait"
    similar = (
        "Ofsted says Reading children's services still require improvement after three-year wait"
    )
    seen = [ref(similar, id="similar"), ref(title, id="exact")]
    assert find_story(ref(title, id="new"), seen, NOW - timedelta(days=14)) == "exact"
    old = [ref(title, id="old", first_seen=NOW - timedelta(days=30))]
    assert find_story(ref(title, id="new"), old, NOW - timedelta(days=14)) is None


def _story(url: str, title: str, council: str, first_seen: datetime) -> tuple[Item, Any]:
    """An item and its news detection about one council, first seen at `first_seen`."""
    from scraper.judge.detect import news_detection
    from scraper.models import Classification, CouncilMatch

    found = load_register().lookup(council)
    assert found is not None
    it = item(url, title)
    cls = Classification(True, "inspection", "good")
    det = news_detection(it, cls, CouncilMatch((found,)), now=first_seen)
    return it, det


def test_story_index_merge_window_follows_the_clock_passed_in() -> None:
    """A same-title story merges while its first sighting is inside the window measured from the
    clock passed in, and starts a new story once that clock has moved past the window."""
    from scraper.judge.detect import StoryIndex

    title = "Ofsted rates Reading children's services good"
    window = timedelta(days=14)
    index = StoryIndex()
    first, det = _story("https://a.test/1", title, "Reading", NOW)
    assert index.identify(first, det, NOW, NOW - window).id == det.id
    later = NOW + window - timedelta(seconds=1)
    copy, det2 = _story("https://b.test/2", title, "Reading", later)
    assert index.identify(copy, det2, later, later - window).id == det.id
    too_late = NOW + window + timedelta(seconds=1)
    again, det3 = _story("https://c.test/3", title, "Reading", too_late)
    assert index.identify(again, det3, too_late, too_late - window).id == det3.id


def test_story_index_keeps_different_councils_and_hosts_apart() -> None:
    """One title about another council, or a merely similar title from another publisher, is a
    different story; a reworded title from the same publisher, or the same link seen again, is
    the same story."""
    from scraper.judge.detect import StoryIndex

    index = StoryIndex()
    since = NOW - timedelta(days=14)
    title = "Ofsted says children's services require improvement after three-year wait"
    it, det = _story("https://paper.test/a", title, "Reading", NOW)
    assert index.identify(it, det, NOW, since).id == det.id
    other, det2 = _story("https://paper.test/b", title, "West Berkshire", NOW)
    assert index.identify(other, det2, NOW, since).id == det2.id
    similar = title.replace("require", "still require")
    elsewhere, det3 = _story("https://other.test/c", similar, "Reading", NOW)
    assert index.identify(elsewhere, det3, NOW, since).id == det3.id
    reworded = title.replace("three-year", "three year")
    same_host, det4 = _story("https://paper.test/d", reworded, "Reading", NOW)
    assert index.identify(same_host, det4, NOW, since).id == det.id
    tracked, det5 = _story("https://paper.test/a?utm_source=rss", "New headline", "Reading", NOW)
    assert index.identify(tracked, det5, NOW, since).id == det.id


def test_story_index_forget_before_keeps_recent_stories_only() -> None:
    """Forgetting before a moment drops older stories and their links, keeps newer ones."""
    from scraper.judge.detect import StoryIndex

    index = StoryIndex()
    old, det_old = _story("https://a.test/old", "Old story", "Reading", NOW - timedelta(days=20))
    new, det_new = _story("https://a.test/new", "New story", "Reading", NOW)
    index.identify(old, det_old, NOW - timedelta(days=20), NOW - timedelta(days=34))
    index.identify(new, det_new, NOW, NOW - timedelta(days=14))
    index.forget_before(NOW - timedelta(days=14))
    assert [r.id for r in index.recent] == [det_new.id]
    assert index.known == {det_new.id}


def test_story_ref_from_row_reads_stored_detection() -> None:
    """A stored row becomes a StoryRef: naive SQLite time is UTC, a redirect host is unknown."""
    row = {
        "id": "news:x",
        "title": "Headline",
        "title_key": "headline",
        "url": GOOGLE,
        "councils": [{"name": "Reading", "gss_code": "E06000038", "ofsted_urn": "80540"}],
        "first_seen": NOW.replace(tzinfo=None),
    }
    got = story_ref_from_row(row)
    assert got == StoryRef("news:x", "headline", None, frozenset({"E06000038"}), NOW)


# -- what detections carry, end to end -----------------------------------------------------

CARRY = [
    "kennet-wb-monitoring-2016",
    "cc-reading-recruitment",
    "cc-wb-rates-inadequate-2015",
    "reading-no-longer-inadequate",
    "bath-chronicle-adequate",
    "cc-seven-councils-2021",
]


def corpus_rss(ids: list[str]) -> bytes:
    """A WordPress-shaped RSS feed of corpus items (summary as description, body as content)."""
    entries = []
    for n, cid in enumerate(ids):
        e = BY_ID[cid]
        entries.append(
            f"<item><title>{escape(e['title'])}</title>"
            f"<link>https://news.example.org/{cid}/</link>"
            f'<guid isPermaLink="false">https://news.example.org/?p={n}</guid>'
            f"<pubDate>Mon, 16 Jun 2025 0{n}:00:00 +0000</pubDate>"
            f"<description>{escape(e['summary'])}</description>"
            f"<content:encoded>{escape('<p>' + e['body'] + '</p>')}</content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Corpus</title><link>https://news.example.org/</link>{''.join(entries)}"
        "</channel></rss>"
    ).encode()


def test_detections_carry_councils_type_judgement_and_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`detections --json` gives each story's councils (main first), type and stated judgement;
    the store keeps the evidence (text and where) for every council named."""
    phase: dict[str, list[str]] = {"ids": []}
    with LocalServer() as server:
        server.route(
            "/feed/",
            lambda _r: Response(
                body=corpus_rss(phase["ids"]), headers={"Content-Type": "application/rss+xml"}
            ),
        )
        watch = json.dumps(CORPUS["watchlist"], ensure_ascii=False)
        config = tmp_path / "ofsted-watch.toml"
        config.write_text(
            f'[storage]\nurl = "sqlite:///{tmp_path}/ow.db"\n'
            '[http]\nuser_agent = "ofsted-watch-test/1.0"\nallow_private = true\n'
            'min_interval = 0.01\nretries = 0\n[daemon]\nlisten = ""\n'
            f"[watchlist]\ncouncils = {watch}\n"
            f'[[sources]]\nname = "corpus"\ntype = "feed"\nurl = "{server.url("/feed/")}"\n',
            encoding="utf-8",
        )
        assert main(["--config", str(config), "fetch"]) == 0
        phase["ids"] = CARRY
        assert main(["--config", str(config), "fetch"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "detections", "--json"]) == 0
    found = {
        d["url"].rstrip("/").rsplit("/", 1)[1]: d
        for d in map(json.loads, capsys.readouterr().out.splitlines())
    }
    assert sorted(found) == sorted(CARRY)
    register = load_register()
    for cid, det in found.items():
        labels = BY_ID[cid]["labels"]
        names = [c["name"] for c in det["councils"]]
        assert names[0] == labels["councils"][0], cid
        assert sorted(names) == sorted(labels["councils"]), cid
        assert all(c["gss_code"] and c["ofsted_urn"] for c in det["councils"]), cid
        assert (det["report_type"], det["judgement"]) == (
            labels["report_type"],
            labels["judgement"],
        ), cid
    stored = {
        r["url"].rstrip("/").rsplit("/", 1)[1]: r
        for r in Store.open(f"sqlite:///{tmp_path}/ow.db").detections()
    }
    for cid, row in stored.items():
        where = {e["council"]: e for e in row["evidence"]}
        for council in BY_ID[cid]["labels"]["councils"]:
            short = register.lookup(council)
            assert short is not None
            ev = where[short.short_name]
            assert ev["text"] and ev["where"] in {"title", "summary", "body"}, (cid, ev)
    # The seed whose headline names no council is matched from the body, and says so.
    (seed,) = stored["cc-reading-recruitment"]["evidence"]
    assert seed["where"] in {"summary", "body"} and "Reading" in seed["text"]


# -- the corpus keeps every trap the issue names ---------------------------------------------

# (id, text that must appear in it, expected relevant, expected councils)
ISSUE_TRAPS = [
    (
        "kennet-wb-monitoring-2016",
        "Positive improvements made to Children's Services in West Berkshire",
        True,
        ["West Berkshire"],
    ),
    ("cc-reading-recruitment", "helps improvements at 'inadequate' council", True, ["Reading"]),
    ("cc-reading-recruitment", "Reading's children's services", True, ["Reading"]),
    ("worth-reading-books", "worth reading", False, []),
    ("govdelivery-wb-2025", "Reading the", True, ["West Berkshire"]),
    ("wb-reading-verb-lowercase", "reading", True, ["West Berkshire"]),
    ("reading-read-more-trap", "READ MORE", True, ["St Helens"]),
    ("reading-pa-gn", "Reading, Pa", False, []),
    ("reading-fc", "Reading FC", False, []),
    ("reading-festival", "Reading Festival", False, []),
    ("wb-berkshire-alone", "Berkshire", True, []),
    ("bwscp-annual-report", "Berkshire West Safeguarding Children Partnership", False, []),
    ("hull-school", "Hull primary school", False, ["Kingston upon Hull"]),
    ("reading-school-ofsted", "primary school", False, ["Reading"]),
    ("reading-childrens-home", "children’s home", False, ["Reading"]),
    ("bffc-focused-visit", "Brighter Futures for Children", True, ["Reading"]),
    ("afc-wam-good", "Achieving for Children", True, ["Windsor and Maidenhead"]),
    ("afc-kingston-richmond", "Achieving for Children", True, []),
    ("cc-seven-councils-2021", "Surrey", True, ["Surrey", "Medway", "Bradford"]),
    ("bath-chronicle-adequate", "Adequate", True, ["Bath and North East Somerset"]),
    ("reading-no-longer-inadequate", "no longer inadequate", True, ["Reading"]),
    ("reading-ilacs-2024", "requires improvement to be good", True, ["Reading"]),
    ("wb-targeted-visit", "targeted visit", True, ["West Berkshire"]),
    (
        "kennet-wb-monitoring-2016",
        "the first since the service was judged",
        True,
        ["West Berkshire"],
    ),
]


@pytest.mark.parametrize("cid,text,relevant,councils", ISSUE_TRAPS, ids=[t[0] for t in ISSUE_TRAPS])
def test_corpus_keeps_issue_trap(cid: str, text: str, relevant: bool, councils: list[str]) -> None:
    """Every trap issue 5 names is a corpus item with its wording and its labels intact."""
    entry = BY_ID.get(cid)
    assert entry is not None, f"corpus item {cid} is gone"
    fold = lambda s: s.replace("’", "'")  # noqa: E731  curly and straight quotes both count
    blob = fold(" ".join((entry["title"], entry["summary"], entry["body"])))
    assert fold(text) in blob
    assert entry["labels"]["relevant"] is relevant
    assert entry["labels"]["councils"] == councils
