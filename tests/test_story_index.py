"""StoryIndex: story identity over an index loaded once a poll (pure: no CLI, HTTP or database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scraper.judge.councils import load_register
from scraper.judge.detect import StoryIndex, news_detection_id
from scraper.models import Detection, Item

NOW = datetime(2025, 6, 17, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)
_READING = load_register().lookup("Reading")
assert _READING is not None
READING = _READING


def item(url: str, title: str) -> Item:
    return Item(source="t", key=url, title=title, url=url, published=None)


def detection(it: Item, now: datetime = NOW) -> Detection:
    return Detection(
        id=news_detection_id(it),
        kind="news_article",
        report_type="monitoring_visit",
        councils=(READING,),
        title=it.title,
        url=it.url,
        published=None,
        source="t",
        first_seen=now,
    )


def identify(index: StoryIndex, it: Item, now: datetime = NOW) -> str:
    return index.identify(it, detection(it, now), now, now - WINDOW).id


def test_identify_merges_a_second_copy_of_a_story_in_one_poll() -> None:
    """Two feeds' copies of one story in one poll get one id; a different story keeps its own."""
    index = StoryIndex()
    first = identify(index, item("https://a.test/1", "Ofsted monitoring visit finds progress"))
    again = identify(index, item("https://b.test/x", "Ofsted monitoring visit finds progress"))
    other = identify(index, item("https://a.test/2", "Council budget gap widens"))
    assert again == first and other != first


def test_identify_uses_a_known_link_before_titles() -> None:
    """A link already merged into a stored story maps to that story whatever its title says."""
    index = StoryIndex(by_key={"a.test/1": "news:stored"})
    assert identify(index, item("https://www.a.test/1/", "A quite different headline")) == (
        "news:stored"
    )


def test_absorb_lets_a_concurrent_poll_join_a_story_not_yet_stored() -> None:
    """A story registered by one poll is found by another poll that absorbs its index."""
    claimed = StoryIndex()
    first = identify(claimed, item("https://a.test/1", "Ofsted praises children's services"))
    other_poll = StoryIndex()
    other_poll.absorb(claimed)
    assert identify(other_poll, item("https://c.test/9", "Ofsted praises children's services")) == (
        first
    )


def test_forget_before_drops_stories_older_than_the_window() -> None:
    """Old registrations are dropped: by then the database answers for them."""
    index = StoryIndex()
    old = NOW - timedelta(days=20)
    identify(index, item("https://a.test/1", "Ofsted visit letter published"), old)
    index.forget_before(NOW - WINDOW)
    assert index.recent == [] and index.known == set() and index.by_key == {}
    assert identify(index, item("https://b.test/2", "Ofsted visit letter published")) != (
        news_detection_id(item("https://a.test/1", "x"))
    )
