"""End to end through `ofsted-watch fetch` against real loopback HTTP servers serving fixtures."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scraper.cli.commands import main
from scraper.store import Store
from tests.httpserver import FIXTURES, LocalServer, Request, Response

EMPTY_RSS = re.compile(rb"<item>.*?</item>", re.S)
EMPTY_ANY = re.compile(rb"<(item|entry)\b.*?</\1>", re.S)


def etagged(body: Callable[[], bytes], content_type: str) -> Callable[[Request], Response]:
    """A route that honours If-None-Match with a 304, like a well-behaved feed server."""

    def respond(request: Request) -> Response:
        data = body()
        tag = f'"{hash(data) & 0xFFFFFFFF:x}"'
        if request.headers.get("if-none-match") == tag:
            return Response(status=304, headers={"ETag": tag})
        return Response(body=data, headers={"ETag": tag, "Content-Type": content_type})

    return respond


def write_config(tmp_path: Path, sources: str, *, extra_http: str = "") -> Path:
    path = tmp_path / "ofsted-watch.toml"
    path.write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path}/ow.db"

[http]
user_agent = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
allow_private = true
min_interval = 0.05
retries = 0
timeout = 5
deadline = 10
{extra_http}

[daemon]
listen = ""

[watchlist]
councils = ["West Berkshire", "Reading", "Bath and North East Somerset"]
{sources}
""",
        encoding="utf-8",
    )
    return path


def feed_source(name: str, url: str, extra: str = "") -> str:
    return f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{url}"\n{extra}\n'


def fetch(config: Path, *args: str) -> int:
    return main(["--config", str(config), "fetch", *args])


@pytest.fixture
def news_world() -> Iterator[tuple[LocalServer, dict[str, bool]]]:
    """Feeds that start empty (the baseline) and then carry the fixture stories."""
    phase = {"full": False}
    server = LocalServer().__enter__()

    def serve(relative: str) -> Callable[[], bytes]:
        def body() -> bytes:
            data = (FIXTURES / relative).read_bytes()
            return data if phase["full"] else EMPTY_RSS.sub(b"", data)

        return body

    rss = "application/rss+xml; charset=UTF-8"
    server.route("/feed/", etagged(serve("news/communitycare_feed.xml"), rss))
    server.route("/tag/ofsted/feed/", etagged(serve("news/communitycare_ofsted_tag.xml"), rss))
    server.route("/kennet/feed/", etagged(serve("news/kennet_radio.xml"), rss))
    server.route("/rss/search", etagged(serve("news/google_news_reading.xml"), "application/xml"))
    server.route("/ofsted.atom", etagged(serve("govuk/ofsted_org.atom"), "application/atom+xml"))
    yield server, phase
    server.close()


def news_config(tmp_path: Path, server: LocalServer) -> Path:
    return write_config(
        tmp_path,
        feed_source("community-care", server.url("/feed/"))
        + feed_source("cc-ofsted", server.url("/tag/ofsted/feed/"))
        + feed_source("kennet", server.url("/kennet/feed/"))
        + feed_source("google-news", server.url("/rss/search"))
        + feed_source("govuk", server.url("/ofsted.atom")),
    )


def test_fetch_baseline_then_new_items_then_nothing(
    tmp_path: Path,
    news_world: tuple[LocalServer, dict[str, bool]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """First poll is a silent baseline; new stories are detected once; a third poll gets 304s."""
    server, phase = news_world
    config = news_config(tmp_path, server)
    assert fetch(config, "--json") == 0
    assert capsys.readouterr().out.strip() == ""

    phase["full"] = True
    assert fetch(config, "--json") == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    titles = {d["title"] for d in lines}
    assert "Positive improvements made to Children’s Services in West Berkshire" in titles
    assert any("Recruitment of" in t for t in titles)
    assert any("staff disruption" in t for t in titles)
    assert not any("worth reading" in t for t in titles)
    assert not any("Reading School District" in t for t in titles)
    assert len(titles) == len(lines), "one story, one detection"
    by_title = {d["title"]: d for d in lines}
    kennet = by_title["Positive improvements made to Children’s Services in West Berkshire"]
    assert kennet["councils"][0]["gss_code"] == "E06000037"
    assert kennet["report_type"] == "monitoring_visit"

    before = len(server.log)
    assert fetch(config, "--json") == 0
    assert capsys.readouterr().out.strip() == ""
    third = server.log[before:]
    feeds = [e for e in third if not e.path.startswith("/robots.txt")]
    assert feeds and all("if-none-match" in e.headers for e in feeds)
    assert {e.status for e in feeds} == {304}
    store = Store.open(f"sqlite:///{tmp_path}/ow.db")
    assert len(store.detections(include_baseline=False)) == len(lines)


def test_fetch_failure_of_one_source_leaves_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 500 on one source is reported, exit 1, and the other source is still stored."""
    with LocalServer() as good, LocalServer() as bad:
        good.route(
            "/feed/", Response.file("news/kennet_radio.xml", content_type="application/rss+xml")
        )
        bad.route("/feed/", Response(status=500, body=b"oops"))
        config = write_config(
            tmp_path,
            feed_source("good", good.url("/feed/")) + feed_source("bad", bad.url("/feed/")),
        )
        assert fetch(config) == 1
        out = capsys.readouterr().out
        assert re.search(r"^bad\s+failed .*500", out, re.M)
        assert re.search(r"^good\s+baseline\s+2 ", out, re.M)
        states = {s.name: s for s in Store.open(f"sqlite:///{tmp_path}/ow.db").states()}
        assert states["good"].last_success_at is not None
        assert states["bad"].consecutive_failures == 1 and "500" in (states["bad"].last_error or "")


def test_fetch_refuses_a_body_over_max_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A response larger than max_bytes fails its source with a clear error."""
    with LocalServer() as server:
        server.route(
            "/big",
            Response(
                body=b"<rss>" + b" " * 50_000 + b"</rss>",
                headers={"Content-Type": "application/rss+xml"},
            ),
        )
        config = write_config(tmp_path, feed_source("big", server.url("/big"), "max_bytes = 10000"))
        assert fetch(config) == 1
        out = capsys.readouterr().out
        assert re.search(r"^big\s+failed .*(too large|max_bytes|exceeds)", out, re.M | re.I), out


def test_fetch_obeys_robots_disallow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A path disallowed by robots.txt is never requested and its source fails clearly."""
    with LocalServer() as server:
        server.route(
            "/robots.txt",
            Response(
                body=b"User-agent: *\nDisallow: /private\n", headers={"Content-Type": "text/plain"}
            ),
        )
        server.route("/private/feed", Response.file("news/kennet_radio.xml"))
        server.route(
            "/public/feed",
            Response.file("news/kennet_radio.xml", content_type="application/rss+xml"),
        )
        config = write_config(
            tmp_path,
            feed_source("private", server.url("/private/feed"))
            + feed_source("public", server.url("/public/feed")),
        )
        assert fetch(config) == 1
        out = capsys.readouterr().out
        assert re.search(r"^private\s+failed .*robots", out, re.M | re.I), out
        assert "/private/feed" not in server.paths()
        assert "/public/feed" in server.paths()


def test_fetch_keeps_the_per_host_interval(tmp_path: Path) -> None:
    """Several sources on one host are fetched one at a time, min_interval apart; hosts overlap."""
    with LocalServer(latency=0.05) as one, LocalServer(latency=0.05) as two:
        sources = ""
        for server, tag in ((one, "a"), (two, "b")):
            for i in range(4):
                path = f"/feed{i}"
                server.route(
                    path, Response.file("news/kennet_radio.xml", content_type="application/rss+xml")
                )
                sources += feed_source(f"{tag}{i}", server.url(path))
        config = (
            write_config(tmp_path, sources, extra_http="")
            .read_text()
            .replace("min_interval = 0.05", "min_interval = 0.3")
        )
        path = tmp_path / "interval.toml"
        path.write_text(config)
        assert fetch(path) == 0
        for server in (one, two):
            assert server.max_concurrency == 1
            starts = sorted(e.started for e in server.log)
            gaps = [b - a for a, b in itertools.pairwise(starts)]
            assert len(starts) == 5  # robots.txt + 4 feeds
            assert min(gaps) >= 0.25, gaps  # 0.3 s at the client; the server sees ±50 ms under load
        assert min(e.started for e in two.log) < max(e.started for e in one.log), (
            "hosts run concurrently"
        )


def test_dry_run_writes_nothing(
    tmp_path: Path,
    news_world: tuple[LocalServer, dict[str, bool]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--dry-run prints what would be detected and stores no state."""
    server, phase = news_world
    config = news_config(tmp_path, server)
    assert fetch(config) == 0  # the baseline: a dry run after it shows what a poll would detect
    store = Store.open(f"sqlite:///{tmp_path}/ow.db")
    states, detections = store.states(), store.detections()
    phase["full"] = True
    capsys.readouterr()
    assert fetch(config, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "West Berkshire" in out
    assert store.states() == states and store.detections() == detections


def test_first_dry_run_reports_a_baseline_as_a_first_poll_does(
    tmp_path: Path,
    news_world: tuple[LocalServer, dict[str, bool]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A first `fetch --dry-run` takes the real path in a rolled-back transaction: it reports
    the same baseline (statuses, item counts, nothing new) as the first real poll."""
    server, phase = news_world
    phase["full"] = True
    config = news_config(tmp_path, server)

    def summary(*args: str) -> list[tuple[str, str, str, str]]:
        capsys.readouterr()
        assert fetch(config, *args) == 0
        out = capsys.readouterr().out
        assert "{" not in out, "no detection is printed at a baseline"
        rows = [line.split() for line in out.splitlines()[1:] if line and line[0] != "a"]
        return sorted((r[0], r[1], r[2], r[3]) for r in rows)

    dry = summary("--dry-run")
    assert dry and {r[1] for r in dry} == {"baseline"} and {r[3] for r in dry} == {"0"}
    assert summary() == dry
    assert Store.open(f"sqlite:///{tmp_path}/ow.db").detections(include_baseline=False) == []


@pytest.mark.parametrize("report_types", [None, ["monitoring_visit"], ["inspection", "jtai"]])
@pytest.mark.parametrize(
    "feed", ["news/communitycare_feed.xml", "news/kennet_radio.xml", "govuk/ofsted_org.atom"]
)
def test_test_source_and_fetch_agree_item_by_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], feed: str, report_types: list[str] | None
) -> None:
    """`test-source` says DETECT for exactly the items a real poll detects, with and without a
    `report_types` filter (it used to ignore the filter)."""
    full = {"on": False}
    data = (FIXTURES / feed).read_bytes()
    with LocalServer() as server:
        server.route(
            "/feed",
            lambda _r: Response(
                body=data if full["on"] else EMPTY_ANY.sub(b"", data),
                headers={"Content-Type": "application/xml"},
            ),
        )
        config = write_config(tmp_path, feed_source("one", server.url("/feed")))
        if report_types is not None:
            text = config.read_text().replace(
                "[watchlist]\n", f"[watchlist]\nreport_types = {json.dumps(report_types)}\n"
            )
            config.write_text(text)
        assert fetch(config) == 0  # baseline on an empty feed
        full["on"] = True
        capsys.readouterr()
        assert main(["--config", str(config), "test-source", "one", "--json"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert rows and all(row["reason"] for row in rows), "every verdict gives its reason"
        previewed = {row["url"] for row in rows if row["detect"]}
        assert fetch(config, "--json") == 0
        fetched = {json.loads(line)["url"] for line in capsys.readouterr().out.splitlines()}
    assert previewed == fetched
    if report_types is not None:
        assert all(
            row["report_type"] in (*report_types, "other", None) for row in rows if row["detect"]
        )


def test_interleave_hosts_round_robins_sources() -> None:
    """Sources are handed to workers host by host in turn, keeping each host's own order."""
    from scraper.run.pipeline import interleave_hosts
    from scraper.settings.schema import FeedSourceConfig

    def src(name: str, host: str) -> FeedSourceConfig:
        return FeedSourceConfig(name=name, type="feed", url=f"https://{host}/{name}")

    order = interleave_hosts(
        [src("a1", "a"), src("a2", "a"), src("a3", "a"), src("b1", "b"), src("c1", "c")]
    )
    assert [s.name for s in order] == ["a1", "b1", "c1", "a2", "a3"]


def test_fetch_does_not_queue_workers_behind_one_host(tmp_path: Path) -> None:
    """With two workers and sources listed host by host, the second host starts at once."""
    with LocalServer() as one, LocalServer() as two:
        sources = ""
        for server, tag in ((one, "a"), (two, "b")):
            for i in range(3):
                server.route(
                    f"/feed{i}",
                    Response.file("news/kennet_radio.xml", content_type="application/rss+xml"),
                )
                sources += feed_source(f"{tag}{i}", server.url(f"/feed{i}"))
        text = write_config(tmp_path, sources, extra_http="max_workers = 2").read_text()
        path = tmp_path / "two.toml"
        path.write_text(text.replace("min_interval = 0.05", "min_interval = 0.5"))
        assert fetch(path) == 0
        first_b = min(e.started for e in two.log)
        a_feeds = sorted(e.started for e in one.log if e.path.startswith("/feed"))
        assert first_b < a_feeds[1], "host b waited behind host a's queue"


def test_fetch_reads_an_rdf_feed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An RSS 1.0 (RDF) council newsroom feed yields its monitoring-visit story for Hull."""
    data = (FIXTURES / "news/council_rdf.rdf").read_bytes()
    full = {"on": False}
    with LocalServer() as server:
        server.route(
            "/rss.rdf",
            lambda _r: Response(
                body=data if full["on"] else EMPTY_ANY.sub(b"", data),
                headers={"Content-Type": "application/rdf+xml"},
            ),
        )
        text = write_config(tmp_path, feed_source("hull-news", server.url("/rss.rdf"))).read_text()
        path = tmp_path / "rdf.toml"
        path.write_text(text.replace('"Bath and North East Somerset"]', '"Kingston upon Hull"]'))
        assert fetch(path) == 0  # the baseline, before the story appears
        full["on"] = True
        assert fetch(path, "--dry-run") == 0
        found = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
        assert [(d["title"], d["report_type"]) for d in found] == [
            ("Ofsted monitoring visit findings published", "monitoring_visit")
        ]
        assert found[0]["councils"][0]["gss_code"] == "E06000010"


def test_fetch_reads_only_items_not_seen_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the baseline, a poll whose feed gained one entry judges and stores that entry
    alone (the summary counts 1 item); a byte-identical body with no validators is unchanged."""
    full = (FIXTURES / "news" / "communitycare_feed.xml").read_bytes()
    first_item = re.search(rb"<item>.*?</item>", full, re.S)
    assert first_item is not None
    bodies = {"now": full.replace(first_item.group(0), b"", 1)}
    with LocalServer() as server:
        rss = {"Content-Type": "application/rss+xml"}  # no validators: no 304s, ever
        server.route("/feed/", lambda _r: Response(body=bodies["now"], headers=rss))
        config = write_config(tmp_path, feed_source("cc", server.url("/feed/")))

        def poll() -> list[str]:
            assert fetch(config) == 0
            line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cc "))
            return line.split()[1:3]

        assert poll() == ["baseline", "4"]
        bodies["now"] = full
        assert poll() == ["ok", "1"]
        assert poll() == ["not_modified", "0"]
    store = Store.open(f"sqlite:///{tmp_path}/ow.db")
    assert len(store.seen_keys("cc")) == 5
