"""Issue 14: the web view over HTTP on a database seeded through the real pipeline.

Pages, Atom feeds, calendars and the JSON API are read from a real server on loopback (the
app `serve` runs), and checked against what the CLI prints for the same database.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import feedparser
import pytest
from icalendar import Calendar
from jsonschema import Draft202012Validator

from scraper.cli.commands import main
from tests.webkit import SCRIPT_TITLE, Seeded, get, seed, serving

PAGES = ["/", "/councils/E06000038", "/detections", "/alerts", "/sources"]
READING, WEST_BERKS = "E06000038", "E06000037"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def base(seeded: Seeded) -> Any:
    with serving(seeded.config) as url:
        yield url


def cli_json(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[Any]:
    capsys.readouterr()
    assert main(["--config", str(config), *args, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def all_items(base: str, path: str, **params: str) -> list[dict[str, Any]]:
    """Every item of an API list, following next_cursor page by page."""
    items: list[dict[str, Any]] = []
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"{base}{path}?{query}"
    while True:
        page = get(url).json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        url = f"{base}{path}?{query}&cursor={page['next_cursor']}"


def test_every_page_answers_with_the_csp_and_no_script(base: str) -> None:
    """Each page is 200 HTML with a CSP that allows no script, and contains no <script>."""
    for path in PAGES:
        r = get(base + path)
        assert r.status == 200, path
        assert r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in r.text.lower(), path
        assert ' style="' not in r.text, path  # inline styles would break under the CSP


def test_a_script_title_renders_as_text_everywhere(base: str) -> None:
    """A scraped title holding <script> is escaped in HTML and kept verbatim as data in the
    Atom feed and the API."""
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    for path in ["/", "/councils/E06000038", "/detections"]:
        assert escaped in get(base + path).text, path
    for path in ["/feed.atom", f"/councils/{READING}/feed.atom"]:
        titles = [e.title for e in feedparser.parse(get(base + path).body).entries]
        assert SCRIPT_TITLE in titles, path
    api = get(base + "/api/detections?council=Reading").json()["items"]
    assert SCRIPT_TITLE in [d["title"] for d in api]


def test_feeds_are_valid_atom_with_every_detection_and_stable_ids(seeded: Seeded) -> None:
    """/feed.atom and a council feed parse without bozo, carry every detection (newest 100),
    and their entry ids are the same from a restarted server."""
    with serving(seeded.config) as first:
        all_feed = feedparser.parse(get(first + "/feed.atom").body)
        council = feedparser.parse(get(f"{first}/councils/{READING}/feed.atom").body)
        detections = all_items(first, "/api/detections")
        reading = all_items(first, "/api/detections", council=READING)
    with serving(seeded.config) as second:
        again = feedparser.parse(get(second + "/feed.atom").body)
    assert not all_feed.bozo and not council.bozo
    assert all_feed.version == "atom10"
    assert len(all_feed.entries) == len(detections) == 26
    assert {e.title for e in all_feed.entries} == {d["title"] for d in detections}
    assert {e.title for e in council.entries} == {d["title"] for d in reading}
    assert [e.id for e in again.entries] == [e.id for e in all_feed.entries]


def test_calendars_parse_with_one_event_per_council_window(base: str) -> None:
    """/calendar.ics holds one all-day event per watched council with a window, with its
    basis; a council's calendar holds its own."""
    cal = Calendar.from_ical(get(base + "/calendar.ics").body)
    events = [c for c in cal.walk("VEVENT")]
    councils = get(base + "/api/councils").json()["items"]
    windows = [c for c in councils if c["expected_visit"]]
    assert len(events) == len(windows) == 5
    uids = {str(e["UID"]) for e in events}
    assert f"expected-visit-{READING}@ofsted-watch" in uids
    one = Calendar.from_ical(get(f"{base}/councils/{READING}/calendar.ics").body)
    (event,) = one.walk("VEVENT")
    reading = next(c for c in councils if c["gss_code"] == READING)
    assert event.decoded("DTSTART").isoformat() == reading["expected_visit"]["start"]
    assert "Basis:" in str(event["DESCRIPTION"])


def _validator(doc: dict[str, Any], path: str) -> Draft202012Validator:
    schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    return Draft202012Validator({**schema["schema"], "components": doc["components"]})


def test_api_answers_validate_against_the_openapi_document(base: str) -> None:
    """Every API list, unfiltered and filtered, validates against /api/openapi.json."""
    doc = get(base + "/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    for path in ["/api/councils", "/api/reports", "/api/detections", "/api/sources"]:
        for query in ["", "?council=Reading", "?type=inspection&since=2019-01-01&limit=3"]:
            body = get(base + path + query).json()
            errors = list(_validator(doc, path).iter_errors(body))
            assert errors == [], (path, query, errors[:1])


def test_api_objects_are_exactly_what_the_cli_prints(
    seeded: Seeded, base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """/api/detections objects are exactly the `detections --all --json` lines, in the same
    order, and /api/reports objects exactly the `reports --json` lines."""
    cli_dets = cli_json(seeded.config, capsys, "detections", "--all")
    api_dets = all_items(base, "/api/detections", limit="7")
    assert [d["id"] for d in api_dets] == [d["id"] for d in cli_dets]
    assert api_dets == cli_dets
    assert any(d["evidence"] for d in api_dets)
    cli_reps = cli_json(seeded.config, capsys, "reports")
    api_reps = all_items(base, "/api/reports", limit="5")
    assert sorted(json.dumps(r, sort_keys=True) for r in api_reps) == sorted(
        json.dumps(r, sort_keys=True) for r in cli_reps
    )


def test_api_filters_and_pagination(base: str) -> None:
    """council/type/kind/since filter like the CLI; pages never repeat or skip a row; a bad
    filter or cursor is a 400 in JSON naming the parameter."""
    every = all_items(base, "/api/detections", limit="4")
    assert len({d["id"] for d in every}) == len(every) == 26
    news = all_items(base, "/api/detections", kind="news_article")
    assert {d["kind"] for d in news} == {"news_article"} and len(news) == 4
    reading = all_items(base, "/api/reports", council="Reading", type="inspection")
    assert len(reading) == 3 and all(r["urn"] == "80540" for r in reading)
    since = all_items(base, "/api/reports", since="2024-01-01", limit="2")
    assert since and all(r["published"] >= "2024-01-01" for r in since)
    bad = get(base + "/api/detections?since=yesterday")
    assert bad.status == 400 and "since" in bad.json()["detail"]
    assert get(base + "/api/reports?cursor=nonsense").status == 400


def test_a_detection_links_to_its_report_and_coverage_to_its_report(base: str) -> None:
    """The West Berkshire letter's detection links to its row on the council page, where the
    news that covered it is listed with its lag in days."""
    page = get(base + "/detections?council=West+Berkshire&kind=ofsted_report").text
    anchor = re.search(rf'href="/councils/{WEST_BERKS}#(report-\d+)"', page)
    assert anchor
    council = get(f"{base}/councils/{WEST_BERKS}").text
    row = council.split(f'id="{anchor.group(1)}"', 1)[1].split("</tr>", 1)[0]
    assert "Monitoring visit" in row and "2 day(s) after" in row


def test_token_guards_everything_but_healthz(seeded: Seeded, tmp_path: Path) -> None:
    """With [web] token set, requests without it get 401; the header, ?token= and the cookie
    ?token= sets all pass; /healthz stays open."""
    config = tmp_path / "token.toml"
    text = seeded.config.read_text(encoding="utf-8")
    config.write_text(text.replace("[watchlist]", '[web]\ntoken = "${WEB_TOKEN}"\n\n[watchlist]'))
    with serving(config, environ={"WEB_TOKEN": "s3cret-token"}) as url:
        assert get(url + "/").status == 401
        assert get(url + "/api/detections").status == 401
        assert get(url + "/feed.atom?token=wrong").status == 401
        assert get(url + "/healthz").status == 200
        assert get(url + "/", {"Authorization": "Bearer s3cret-token"}).status == 200
        fed = get(url + "/feed.atom?token=s3cret-token")
        assert fed.status == 200 and "HttpOnly" in fed.headers["set-cookie"]
        cookie = fed.headers["set-cookie"].split(";", 1)[0]
        assert get(url + "/detections", {"Cookie": cookie}).status == 200
        assert "s3cret-token" not in get(url + "/", {"Cookie": cookie}).text


def test_unknown_council_and_path_are_404_and_nothing_writes(base: str) -> None:
    """An unwatched council and an unknown path are 404 pages; POST is refused."""
    assert get(base + "/councils/E09999999").status == 404
    assert get(base + "/nope").status == 404
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    with pytest.raises(HTTPError) as err:
        urlopen(Request(base + "/detections", data=b"x", method="POST"), timeout=10)
    assert err.value.code == 405


def test_serve_command_serves_the_app(seeded: Seeded) -> None:
    """`ofsted-watch serve --listen 127.0.0.1:0` logs its address and answers there."""
    cmd = [sys.executable, "-m", "scraper", "--config", str(seeded.config), "serve"]
    proc = subprocess.Popen([*cmd, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"http://([\d.]+:\d+)/", line)
        assert found, line
        assert get(f"http://{found.group(1)}/").status == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_daemon_serves_the_view_with_its_last_poll_and_next_poll(
    tmp_path: Path, sqlite_url: str
) -> None:
    """`run` serves the web view beside /healthz: /sources shows the last poll's requests and
    items and the scheduler's next poll, which the database does not keep."""
    from tests.daemonkit import NewsFeed, feed, running, wait_for
    from tests.daemonkit import write_config as daemon_config
    from tests.httpserver import LocalServer

    with LocalServer() as server:
        server.route("/news", NewsFeed(count=3))
        config = daemon_config(tmp_path / "c.toml", sqlite_url, feed("news", server.url("/news")))
        with running(config) as daemon:
            assert daemon.health is not None
            base = "http://" + daemon.health.address
            wait_for(lambda: daemon.store.load_state("news").last_success_at, what="a poll")
            (row,) = get(base + "/api/sources").json()["items"]
            page = get(base + "/sources").text
            assert get(base + "/healthz").json()["status"] == "ok"
            assert get(base + "/").status == 200
    assert row["name"] == "news" and row["requests"] == 1 and row["items"] == 3
    assert row["next_poll"] and row["last_success"]
    assert "built-in method" not in page and "<td>3</td>" in page


def test_the_overview_changes_as_soon_as_a_report_is_stored(seeded: Seeded, tmp_path: Path) -> None:
    """The cached overview is rebuilt when a new report is stored, not served stale."""
    import shutil
    from datetime import UTC, date, datetime

    from scraper.models import Report, SourceResult
    from scraper.store import PollRecord, Store

    shutil.copy(seeded.db_url.removeprefix("sqlite:///"), tmp_path / "copy.db")
    config = tmp_path / "copy.toml"
    text = seeded.config.read_text(encoding="utf-8")
    config.write_text(text.replace(seeded.db_url, f"sqlite:///{tmp_path}/copy.db"))
    with serving(config) as url:
        assert "Third monitoring visit letter" not in get(url + "/").text
        report = Report(
            urn="80577",
            council_name="West Berkshire Council",
            label="Third monitoring visit letter",
            url="https://files.example.org/v1/file/59999999",
            file_id="59999999",
            report_type="monitoring_visit",
            published=date(2026, 11, 30),
        )
        store = Store.open(f"sqlite:///{tmp_path}/copy.db")
        rec = PollRecord(SourceResult("ofsted"), (), [(report, WEST_BERKS)], (), baseline=True)
        now = datetime.now(UTC)
        store.record_poll(rec, old=store.load_state("ofsted"), now=now, routes=lambda _d: [])
        store.close()
        page = get(url + "/").text
    assert "Third monitoring visit letter" in page
