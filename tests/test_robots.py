"""robots.txt rules (RFC 9309), pure: no HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.ingest.robots import MAX_ROBOTS_BYTES, Robots, parse_robots, product_token

UA = "ofsted-watch/0.1 (+https://github.com/ofsted-watch/ofsted-watch)"
GOVUK = Path(__file__).parent / "fixtures" / "govuk" / "robots.txt"


@pytest.fixture
def govuk() -> Robots:
    return parse_robots(GOVUK.read_bytes())


def test_robots_longest_match_beats_first_match() -> None:
    """`Allow: /reports/public` outranks the shorter `Disallow: /reports` (stdlib 3.11 does not)."""
    robots = parse_robots("User-agent: *\nDisallow: /reports\nAllow: /reports/public\n")
    assert robots.can_fetch(UA, "https://x.test/reports/public/x")
    assert not robots.can_fetch(UA, "https://x.test/reports/private")
    assert robots.can_fetch(UA, "https://x.test/other")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/search/all.atom?organisations%5B%5D=ofsted&order=updated-newest", False),
        ("/search/all.atom?x", False),
        ("/search/all", False),
        ("/search/news-and-communications.atom?organisations%5B%5D=ofsted", True),
        ("/api/search.json?filter_organisations=ofsted", True),
        ("/government/organisations/ofsted.atom", True),
        ("/guidance/x/print", False),
        ("/guidance/x/print?y=1", True),  # `$` anchors the end: a query makes it a different path
        ("/info/anything", False),
    ],
)
def test_robots_govuk_fixture(govuk: Robots, path: str, allowed: bool) -> None:
    """The GOV.UK model refuses search/all and print pages but allows the feeds we read."""
    assert govuk.can_fetch(UA, "https://www.gov.uk" + path) is allowed


def test_robots_govuk_crawl_delay_is_per_agent(govuk: Robots) -> None:
    """AhrefsBot gets Crawl-delay 10; the `*` group (and so ofsted-watch) has none."""
    assert govuk.crawl_delay("AhrefsBot/7.0") == 10.0
    assert govuk.crawl_delay(UA) is None


def test_robots_named_group_replaces_star_group(govuk: Robots) -> None:
    """A crawler named in a group obeys only that group, not the `*` rules."""
    assert not govuk.can_fetch("deepcrawl", "https://www.gov.uk/anything")
    assert govuk.can_fetch("AhrefsBot", "https://www.gov.uk/search/all.atom")


def test_robots_sitemaps_collected(govuk: Robots) -> None:
    """Sitemap lines are kept wherever they appear."""
    assert govuk.sitemaps == ("https://www.gov.uk/sitemap.xml",)


def test_robots_tie_goes_to_allow() -> None:
    """Equally long Allow and Disallow patterns resolve to Allow."""
    robots = parse_robots("User-agent: *\nDisallow: /page\nAllow: /page\n")
    assert robots.can_fetch(UA, "/page")


def test_robots_wildcards_and_end_anchor() -> None:
    """`*` matches any run of characters and `$` anchors the end of the path."""
    robots = parse_robots("User-agent: *\nDisallow: /*.pdf$\nDisallow: /a*/b\n")
    assert not robots.can_fetch(UA, "/files/report.pdf")
    assert robots.can_fetch(UA, "/files/report.pdf?download=1")
    assert not robots.can_fetch(UA, "/axx/b/c")
    assert robots.can_fetch(UA, "/b/a")


def test_robots_empty_disallow_allows_everything() -> None:
    """`Disallow:` with no value is not a rule."""
    assert parse_robots("User-agent: *\nDisallow:\n").can_fetch(UA, "/x")


def test_robots_named_agent_and_grouped_user_agents() -> None:
    """Several user-agent lines share the rules that follow; our product token is matched."""
    text = (
        "User-agent: other\nUser-agent: ofsted-watch\nDisallow: /private\n\n"
        "User-agent: *\nDisallow: /\n"
    )
    robots = parse_robots(text)
    assert robots.can_fetch(UA, "/public")
    assert not robots.can_fetch(UA, "/private/x")
    assert not robots.can_fetch("somebot", "/public")


def test_robots_rules_before_any_user_agent_ignored() -> None:
    """Allow/Disallow lines outside a group have no effect."""
    assert parse_robots("Disallow: /\nUser-agent: *\nAllow: /\n").can_fetch(UA, "/x")


def test_robots_percent_encoding_compared_case_insensitively() -> None:
    """`%2f` in the file matches `%2F` in a URL; non-ASCII patterns match their UTF-8 escapes."""
    robots = parse_robots("User-agent: *\nDisallow: /a%2fb\nDisallow: /caf\u00e9\n")
    assert not robots.can_fetch(UA, "/a%2Fb")
    assert not robots.can_fetch(UA, "/caf%C3%A9/menu")


def test_robots_txt_itself_always_allowed() -> None:
    """/robots.txt is implicitly allowed even under `Disallow: /`."""
    assert parse_robots("User-agent: *\nDisallow: /\n").can_fetch(UA, "/robots.txt")


def test_robots_empty_and_disallow_all_values() -> None:
    """`Robots()` allows everything (a 4xx); `disallow_all` refuses everything (a 5xx)."""
    assert Robots().can_fetch(UA, "/x")
    assert not Robots(disallow_all=True).can_fetch(UA, "/x")


def test_robots_parses_only_first_500_kib() -> None:
    """Bytes past 500 KiB are ignored, so a rule there does not apply."""
    head = b"User-agent: *\nDisallow: /early\n"
    padding = b"# " + b"x" * (MAX_ROBOTS_BYTES - len(head)) + b"\n"
    robots = parse_robots(head + padding + b"Disallow: /late\n")
    assert not robots.can_fetch(UA, "/early")
    assert robots.can_fetch(UA, "/late")


def test_robots_bad_crawl_delay_ignored() -> None:
    """A non-numeric or negative Crawl-delay is treated as absent."""
    assert parse_robots("User-agent: *\nCrawl-delay: soon\n").crawl_delay(UA) is None
    assert parse_robots("User-agent: *\nCrawl-delay: -1\n").crawl_delay(UA) is None
    assert parse_robots("User-agent: *\nCrawl-delay: 2.5\n").crawl_delay(UA) == 2.5


def test_product_token_from_user_agent() -> None:
    """The product token is the lower-cased name before the first slash or space."""
    assert product_token(UA) == "ofsted-watch"
    assert product_token("Mozilla/5.0 (X11)") == "mozilla"
    assert product_token("") == "*"
