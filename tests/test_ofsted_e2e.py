"""Issue 4 acceptance: the Ofsted source through the real CLI, pipeline and store.

Every test drives `main(["--config", ..., COMMAND])` against a loopback "Ofsted site"
(tests/ofsted_world.py) and reads the answers back through `detections`/`reports --json`, the
server's request log and captured stderr, as a user or their scripts would.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from scraper.cli.commands import main
from scraper.store import Store
from scraper.store.schema import source_state
from tests import payloadcheck
from tests.daemonkit import requests_to, running, wait_for
from tests.httpserver import LocalServer, Request, Response
from tests.ofsted_world import LETTER_ID, READING_VISIT_ID, OfstedWorld, pdf_bytes

UA = "ofsted-watch-test/1.0 (+mailto:test@example.org)"
WATCHED = ["West Berkshire", "Reading"]
FIVE = ["West Berkshire", "Reading", "Bath and North East Somerset", "Hull", "Cumberland"]
LETTER_KEY = f"ofsted:{LETTER_ID}"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def world(server: LocalServer) -> OfstedWorld:
    return OfstedWorld(server)


def write_config(
    tmp_path: Path,
    world: OfstedWorld,
    councils: list[str],
    *,
    politeness: str = "min_interval = 0",
    retries: int = 1,
    alerts: str = "",
    db_url: str | None = None,
    http_interval: float = 1.0,
    timeout: float = 5,
) -> Path:
    """A config with one Ofsted source on the loopback site; `politeness` goes in its table."""
    path = tmp_path / "ofsted-watch.toml"
    path.write_text(
        f"""
[storage]
url = "{db_url or f"sqlite:///{tmp_path}/ow.db"}"

[http]
user_agent = "{UA}"
allow_private = true
retries = {retries}
min_interval = {http_interval}
timeout = {timeout}
deadline = 10

[daemon]
listen = ""

[watchlist]
councils = {json.dumps(councils)}

[[sources]]
name = "ofsted"
type = "ofsted"
base_url = "{world.server.url("")}"
{politeness}
{alerts}
""",
        encoding="utf-8",
    )
    return path


def cli(config: Path, *args: str) -> int:
    return main(["--config", str(config), *args])


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def query(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    """`detections`/`reports ... --json` as parsed objects."""
    capsys.readouterr()
    assert cli(config, *args, "--json") == 0
    lines = json_lines(capsys.readouterr().out)
    if args[0] == "detections":
        for line in lines:
            payloadcheck.check_data(line)
    return lines


def fetch_json(config: Path, capsys: pytest.CaptureFixture[str], code: int = 0) -> list[Any]:
    """`fetch --json`: the new detections; asserts the exit code."""
    capsys.readouterr()
    assert cli(config, "fetch", "--json") == code
    lines = json_lines(capsys.readouterr().out)
    for line in lines:
        payloadcheck.check_data(line)
    return lines


def poll_baseline(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first fetch: the site's current reports are recorded and nothing is queued to send."""
    capsys.readouterr()
    assert cli(config, "fetch") == 0
    assert query(config, capsys, "alerts", "list") == []


def test_fetch_new_monitoring_letter_gives_exactly_one_detection(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    """Baseline is silent, an unchanged listing costs 2 requests, and the new letter is one
    detection with council, type, dates and published date right (SQLite and PostgreSQL)."""
    config = write_config(tmp_path, world, WATCHED, db_url=db_url)
    poll_baseline(config, capsys)
    baseline = {d["id"] for d in query(config, capsys, "detections", "--all")}
    assert LETTER_KEY not in baseline and baseline
    assert query(config, capsys, "detections") == [], "baseline rows are hidden by default"

    mark = len(world.server.log)
    assert fetch_json(config, capsys) == []
    assert [p.split("?")[0] for p in world.paths(mark)] == ["/search", "/search"]
    assert {e.status for e in world.server.log[mark:] if e.path != "/robots.txt"} == {304}

    world.publish_west_berkshire_letter()
    mark = len(world.server.log)
    new = fetch_json(config, capsys)
    assert [d["id"] for d in new] == [LETTER_KEY]
    assert world.paths(mark)[2:] == ["/provider/44/80577", f"/v1/file/{LETTER_ID}"]
    letter = new[0]
    assert letter["councils"] == [
        {"name": "West Berkshire", "gss_code": "E06000037", "ofsted_urn": "80577"}
    ]
    assert (letter["kind"], letter["report_type"]) == ("ofsted_report", "monitoring_visit")
    assert (letter["published"], letter["visit_dates"]) == (
        "2017-01-23",
        ["2016-12-13", "2016-12-14"],
    )
    assert letter["url"] == world.server.url(f"/v1/file/{LETTER_ID}")
    assert letter["source"] == "ofsted" and "steady progress" in letter["summary"]

    stored = query(config, capsys, "detections", "--all")
    assert {d["id"] for d in stored} - baseline == {LETTER_KEY}
    assert [d for d in stored if d["id"] == LETTER_KEY] == new
    only = query(
        config, capsys, "detections", "--council", "West Berkshire", "--type", "monitoring_visit"
    )
    assert only == new

    report = next(r for r in query(config, capsys, "reports") if r["id"] == LETTER_KEY)
    assert (report["label"], report["visit_number"], report["inadequate_since"]) == (
        "Monitoring visit",
        1,
        "2015-03",
    )
    assert (report["text_available"], report["available"]) == (True, True)
    assert report["pdf_published"] is None  # the letter prints no "Report published" date
    assert fetch_json(config, capsys) == []  # seen once, never again


def test_fetch_reports_carry_the_pdf_facts_and_only_watched_councils(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reports --json` holds the PDF's own published date and judgement; unwatched councils
    are never read nor stored."""
    config = write_config(tmp_path, world, WATCHED)
    assert cli(config, "fetch") == 0
    reports = query(config, capsys, "reports")
    assert {r["urn"] for r in reports} == {"80577", "80540"}
    assert {r["councils"][0]["ofsted_urn"] for r in reports} == {"80577", "80540"}
    providers = {p for p in world.paths() if p.startswith("/provider/")}
    assert providers == {"/provider/44/80577", "/provider/44/80540"}
    sif = next(r for r in reports if r["id"] == "ofsted:2467895")
    assert (sif["pdf_published"], sif["published"], sif["judgement"]) == (
        "2015-05-13",
        "2015-05-18",
        "inadequate",
    )
    types = {r["report_type"] for r in reports}
    assert {"jtai", "area_send", "inspection", "focused_visit", "monitoring_visit"} <= types


def test_fetch_focused_visit_is_never_a_monitoring_visit(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A "Monitoring visit" link whose letter is a focused visit is detected as a focused visit."""
    config = write_config(tmp_path, world, WATCHED)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    world.file(
        LETTER_ID, Response(body=pdf_bytes("50175003"), headers={"Content-Type": "application/pdf"})
    )
    new = fetch_json(config, capsys)
    assert [(d["id"], d["report_type"]) for d in new] == [(LETTER_KEY, "focused_visit")]
    monitoring = query(config, capsys, "reports", "--type", "monitoring_visit")
    assert all("focused" not in r["summary"].lower() for r in monitoring if r["summary"])
    assert LETTER_KEY not in {r["id"] for r in monitoring}
    focused = query(config, capsys, "reports", "--type", "focused_visit")
    assert {r["id"] for r in focused} == {LETTER_KEY, "ofsted:50175003"}


def recorder(server: LocalServer) -> list[dict[str, Any]]:
    """A webhook receiver on `server` at /hook: answers 204, keeps each POSTed JSON body."""
    received: list[dict[str, Any]] = []

    def hook(request: Request) -> Response:
        received.append(json.loads(request.body))
        return Response(status=204)

    server.route("/hook", hook)
    return received


def webhook(url: str) -> str:
    return f"""
[[alerts]]
name = "newsroom"
type = "webhook"
url = "{url}"
allow_private = true
"""


def test_fetch_webhook_gets_one_alert_matching_the_detection(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """The webhook channel receives exactly one POST for the new letter, its data the detection."""
    with LocalServer() as receiver:
        received = recorder(receiver)
        config = write_config(tmp_path, world, WATCHED, alerts=webhook(receiver.url("/hook")))
        poll_baseline(config, capsys)
        assert received == []
        world.publish_west_berkshire_letter()
        new = fetch_json(config, capsys)
        assert fetch_json(config, capsys) == []
        assert len(received) == 1
        body = received[0]
        assert body["type"] == "detection.created"
        assert body["data"] == new[0]
        assert body["data"] == next(
            d for d in query(config, capsys, "detections") if d["id"] == LETTER_KEY
        )
        hooks = [e for e in receiver.log if e.path == "/hook"]
        assert len(hooks) == 1 and hooks[0].headers["webhook-id"].startswith("msg_")


@pytest.mark.parametrize("case", ["corrupt", "image_only"])
def test_fetch_unreadable_letter_is_detected_from_its_label(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """A corrupt or image-only PDF: a clear log line, the label's type, no invented facts."""
    config = write_config(tmp_path, world, WATCHED)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    world.broken_pdf(LETTER_ID, case)
    capsys.readouterr()
    assert cli(config, "fetch", "--json") == 0
    out = capsys.readouterr()
    new = json_lines(out.out)
    assert [(d["id"], d["report_type"], d["visit_dates"]) for d in new] == [
        (LETTER_KEY, "monitoring_visit", [])
    ]
    assert re.search(rf"WARNING .*report text unavailable.*v1/file/{LETTER_ID}", out.err), out.err
    report = next(r for r in query(config, capsys, "reports") if r["id"] == LETTER_KEY)
    assert (report["text_available"], report["visit_number"], report["summary"]) == (
        False,
        None,
        None,
    )


def test_fetch_html_served_as_pdf_is_retried_then_detected(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new file answering the "Report not found" page: logged, no detection, looked at again
    next poll, and detected once the real PDF is there."""
    config = write_config(tmp_path, world, WATCHED)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    world.html_as_pdf(LETTER_ID)
    capsys.readouterr()
    assert cli(config, "fetch", "--json") == 0
    out = capsys.readouterr()
    assert json_lines(out.out) == []
    assert re.search(
        rf"WARNING .*not a PDF \(Report not found page\?\) url=\S*/v1/file/{LETTER_ID}", out.err
    )
    assert "not there yet" in out.err
    assert LETTER_KEY not in {r["id"] for r in query(config, capsys, "reports")}

    world.restore_file(LETTER_ID)
    assert [d["id"] for d in fetch_json(config, capsys)] == [LETTER_KEY]
    mark = len(world.server.log)
    assert fetch_json(config, capsys) == []
    assert len(world.paths(mark)) == 2  # nothing awaited any more: back to the listing alone


def test_fetch_dead_new_file_is_recorded_unavailable_after_retries(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new file that stays "Report not found" is recorded as unavailable, never detected."""
    config = write_config(tmp_path, world, WATCHED)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    world.html_as_pdf(LETTER_ID, status=404)
    for _ in range(5):
        assert fetch_json(config, capsys) == []
    report = next(r for r in query(config, capsys, "reports") if r["id"] == LETTER_KEY)
    assert (report["available"], report["report_type"]) == (False, "monitoring_visit")
    assert LETTER_KEY not in {d["id"] for d in query(config, capsys, "detections")}
    fetches = [p for p in world.paths() if p == f"/v1/file/{LETTER_ID}"]
    assert len(fetches) == 5
    assert fetch_json(config, capsys) == []
    assert len([p for p in world.paths() if p == f"/v1/file/{LETTER_ID}"]) == 5


@pytest.mark.parametrize(
    ("path", "status", "retry_after"),
    [
        ("/search", 403, None),
        (f"/v1/file/{LETTER_ID}", 429, "1"),
        ("/provider/44/80577", 403, None),
    ],
)
def test_fetch_refusals_are_retried_with_a_log_line(
    tmp_path: Path,
    world: OfstedWorld,
    capsys: pytest.CaptureFixture[str],
    path: str,
    status: int,
    retry_after: str | None,
) -> None:
    """403 then 200 and 429 with Retry-After: a clear retry line, then the letter once."""
    config = write_config(tmp_path, world, WATCHED, retries=2)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    world.refuse_then_serve(path, 1, status=status, retry_after=retry_after)
    capsys.readouterr()
    assert cli(config, "fetch", "--json") == 0
    out = capsys.readouterr()
    assert [d["id"] for d in json_lines(out.out)] == [LETTER_KEY]
    line = rf"WARNING .*retrying url=\S*{re.escape(path)}\S* status={status}"
    assert re.search(line, out.err), out.err
    if retry_after:
        assert re.search(r"wait=1\.00s", out.err)
        refused, retried = [e for e in world.server.log if e.path == path]
        # Retry-After honoured: the client waits 1 s; the server stamps each request when it
        # reads the request line, so allow for thread scheduling on a loaded machine.
        assert retried.started - refused.started >= 0.8


@pytest.mark.parametrize(
    ("path", "status", "retry_after"),
    [(f"/v1/file/{LETTER_ID}", 403, None), ("/search", 429, "3600")],
)
def test_fetch_persistent_refusal_fails_then_loses_nothing(
    tmp_path: Path,
    world: OfstedWorld,
    capsys: pytest.CaptureFixture[str],
    path: str,
    status: int,
    retry_after: str | None,
) -> None:
    """Refused past the retries (or deferred by a long Retry-After): exit 1 with the reason,
    no detection; the next poll finds the letter exactly once."""
    config = write_config(tmp_path, world, WATCHED, retries=1)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    world.refuse_then_serve(
        path, 2 if retry_after is None else 1, status=status, retry_after=retry_after
    )
    capsys.readouterr()
    assert cli(config, "fetch", "--json") == 1
    out = capsys.readouterr()
    assert json_lines(out.out) == []
    assert re.search(rf"ofsted\s+failed .*{status}", out.err), out.err
    if retry_after:
        assert re.search(r"WARNING .*deferring host=\S+ status=429 retry_after=3600s", out.err)
        # The deferral is remembered: the next run asks nothing of the site until it is over.
        mark = len(world.server.log)
        assert fetch_json(config, capsys) == []
        assert world.paths(mark) == []
        store = Store.open(f"sqlite:///{tmp_path}/ow.db")
        with store.engine.begin() as conn:  # the hour is over
            conn.execute(update(source_state).values(not_before=datetime.now(UTC) - timedelta(1)))
        store.close()
    assert [d["id"] for d in fetch_json(config, capsys)] == [LETTER_KEY]
    assert fetch_json(config, capsys) == []


def test_backfill_five_councils_is_idempotent_and_silent(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    """Backfill stores every report of five councils, alerts nothing, and a rerun adds nothing;
    the cursor then covers all five, so the next fetch costs the listing alone."""
    with LocalServer() as receiver:
        received = recorder(receiver)
        hook = webhook(receiver.url("/hook"))
        config = write_config(tmp_path, world, FIVE, alerts=hook, db_url=db_url)
        capsys.readouterr()
        assert cli(config, "backfill") == 0
        assert "backfilled 5 council(s); 22 reports stored" in capsys.readouterr().out
        reports = query(config, capsys, "reports")
        per_urn = {u: sum(r["urn"] == u for r in reports) for u in {r["urn"] for r in reports}}
        assert per_urn == {"80577": 2, "80540": 7, "80427": 2, "80477": 9, "2733690": 2}
        assert query(config, capsys, "alerts", "list") == []

        assert cli(config, "backfill") == 0
        assert "backfilled 5 council(s); 22 reports stored" in capsys.readouterr().out
        assert len(query(config, capsys, "reports")) == 22
        assert query(config, capsys, "alerts", "list") == []

        state = Store.open(db_url).load_state("ofsted")
        assert set(state.cursor["seen"]) == set(state.cursor["latest"]) == {
            "80577", "80540", "80427", "80477", "2733690"
        }  # fmt: skip
        mark = len(world.server.log)
        assert fetch_json(config, capsys) == []
        assert len(world.paths(mark)) == 2
        world.publish_west_berkshire_letter()
        assert [d["id"] for d in fetch_json(config, capsys)] == [LETTER_KEY]
        assert len(received) == 1 and received[0]["data"]["id"] == LETTER_KEY


def test_backfill_council_restricts_and_later_fetch_alerts_no_history(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """`backfill --council Reading` stores Reading alone; a later fetch takes the other watched
    councils' history as their baseline instead of alerting it, then finds the new letter."""
    config = write_config(tmp_path, world, FIVE)
    capsys.readouterr()
    assert cli(config, "backfill", "--council", "Reading") == 0
    assert "backfilled 1 council(s); 7 reports stored" in capsys.readouterr().out
    assert {r["urn"] for r in query(config, capsys, "reports")} == {"80540"}
    providers = {p for p in world.paths() if p.startswith("/provider/")}
    assert providers == {"/provider/44/80540"}

    assert fetch_json(config, capsys) == []  # no alert storm for the four other councils
    assert query(config, capsys, "alerts", "list") == []
    world.publish_west_berkshire_letter()
    assert [d["id"] for d in fetch_json(config, capsys)] == [LETTER_KEY]


def test_backfill_alert_queues_alerts(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """`backfill --alert` queues an alert per wanted report; without it nothing is queued."""
    config = write_config(
        tmp_path, world, ["Cumberland"], alerts=webhook("http://127.0.0.1:9/hook")
    )
    assert cli(config, "backfill", "--alert") == 0
    alerts = query(config, capsys, "alerts", "list")
    assert len(alerts) == 2 and {a["status"] for a in alerts} == {"pending"}


def test_reports_filters_by_council_type_and_date(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reports --council X --type T --since D --json` returns exactly the matching reports."""
    config = write_config(tmp_path, world, FIVE)
    assert cli(config, "backfill") == 0
    rows = query(
        config,
        capsys,
        "reports",
        "--council",
        "Reading",
        "--type",
        "inspection",
        "--since",
        "2019-01-01",
    )
    assert sorted(r["published"] for r in rows) == ["2019-10-28", "2024-07-12"]
    assert {r["councils"][0]["name"] for r in rows} == {"Reading"}
    hull = query(config, capsys, "reports", "--council", "Hull", "--type", "monitoring_visit")
    assert sorted(r["published"] for r in hull) == ["2022-05-06", "2023-03-10"]
    since = query(config, capsys, "reports", "--since", "2024-07-26")
    assert {(r["urn"], r["published"]) for r in since} == {
        ("80540", "2025-05-20"),
        ("80540", "2025-02-14"),
        ("80477", "2024-08-01"),
        ("2733690", "2024-07-26"),
    }
    assert len(since) == 5  # Hull published two reports on 2024-08-01


def test_fetch_seven_digit_urn_council(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cumberland (URN 2733690) is found through the listing's link and stored under its codes."""
    config = write_config(tmp_path, world, ["Cumberland"])
    assert cli(config, "fetch") == 0
    rows = query(config, capsys, "reports", "--council", "Cumberland")
    assert {(r["urn"], r["councils"][0]["gss_code"]) for r in rows} == {("2733690", "E06000063")}
    assert sorted(r["report_type"] for r in rows) == ["focused_visit", "inspection"]
    dets = query(config, capsys, "detections", "--all", "--council", "Cumberland")
    assert {d["councils"][0]["ofsted_urn"] for d in dets} == {"2733690"}


def test_fetch_default_politeness_one_request_at_a_time_a_second_apart(
    tmp_path: Path, world: OfstedWorld
) -> None:
    """With the Ofsted source's default politeness, requests go one at a time, >= 1 s apart,
    each with the configured User-Agent."""
    # [http] allows 0.05 s; the 1 s comes from the Ofsted source's own default.
    config = write_config(tmp_path, world, ["Cumberland"], politeness="", http_interval=0.05)
    assert cli(config, "fetch") == 0
    log = world.server.log
    assert len(log) == 6  # robots.txt, two listing pages, the provider page, two PDFs
    assert world.server.max_concurrency == 1
    starts = [e.started for e in log]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The client starts requests >= 1 s apart; the server stamps each when it reads the request
    # line, so one stamp late by thread scheduling can shorten one gap a little. Lower bounds
    # only: a slow machine makes gaps longer, never shorter.
    assert min(gaps) >= 0.8, gaps
    assert starts[-1] - starts[0] >= 5 * 1.0 - 0.2, gaps
    assert {e.headers["user-agent"] for e in log} == {UA}


def test_fetch_letter_listed_before_its_page_shows_it_is_detected_once(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    """The listing moves before the provider page does: each fetch warns and reads the page
    again, and the letter is detected exactly once when the page shows it (never lost)."""
    config = write_config(tmp_path, world, WATCHED, db_url=db_url)
    poll_baseline(config, capsys)
    world.listing["0"] = "search_la_p1_t1.html"  # the page still serves t0
    for _ in range(2):
        mark = len(world.server.log)
        assert fetch_json(config, capsys) == []
        assert "/provider/44/80577" in world.paths(mark)
    capsys.readouterr()
    assert cli(config, "fetch") == 0
    assert "provider page does not show yet" in capsys.readouterr().err
    world.publish_west_berkshire_letter()
    assert [d["id"] for d in fetch_json(config, capsys)] == [LETTER_KEY]
    assert fetch_json(config, capsys) == []
    assert [d["id"] for d in query(config, capsys, "detections")] == [LETTER_KEY]


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("503", "provider page HTTP 503"),
        ("404", "provider page HTTP 404"),
        ("timeout", "provider page "),
        ("garbage", "provider page no h1.heading--title"),
        ("pdf503", "report file "),
    ],
)
def test_fetch_one_failing_council_never_sinks_the_others(
    tmp_path: Path,
    world: OfstedWorld,
    capsys: pytest.CaptureFixture[str],
    how: str,
    reason: str,
) -> None:
    """Issue 13.2: Reading's provider page or new PDF fails (5xx, 404, timeout, garbage): West
    Berkshire's new letter is still stored and alerted in the same poll, the poll exits 1 with an
    error naming Reading, and the next poll picks up Reading's listed change exactly once."""
    config = write_config(tmp_path, world, WATCHED, timeout=1)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    world.publish_reading_visit()
    if how == "pdf503":
        world.file(READING_VISIT_ID, Response(status=503, body=b"busy"))
    else:
        world.break_provider("80540", how)
    capsys.readouterr()
    assert cli(config, "fetch", "--json") == 1
    out = capsys.readouterr()
    assert [d["id"] for d in json_lines(out.out)] == [LETTER_KEY]
    assert re.search(r"ofsted\s+failed .*Reading \(URN 80540\): " + re.escape(reason), out.err)
    if how == "pdf503":
        assert re.search(r"Reading \(URN 80540\): report file \S+/v1/file/\d+: HTTP 503", out.err)
    stored = {d["id"] for d in query(config, capsys, "detections")}
    assert stored == {LETTER_KEY}
    store = Store.open(f"sqlite:///{tmp_path}/ow.db")
    state = store.load_state("ofsted")
    assert state.consecutive_failures == 1 and "Reading (URN 80540)" in (state.last_error or "")
    store.close()

    world.provider("80540", "provider_44_80540_t1")
    world.restore_file(READING_VISIT_ID)
    new = fetch_json(config, capsys)
    assert [(d["id"], d["report_type"]) for d in new] == [
        (f"ofsted:{READING_VISIT_ID}", "focused_visit")
    ]
    assert new[0]["councils"][0]["name"] == "Reading"
    assert fetch_json(config, capsys) == []
    store = Store.open(f"sqlite:///{tmp_path}/ow.db")
    assert store.load_state("ofsted").consecutive_failures == 0
    store.close()


def test_fetch_failed_listing_still_fails_the_whole_poll(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A listing that fails is still the whole poll's failure: nothing stored, all retried."""
    config = write_config(tmp_path, world, WATCHED)
    poll_baseline(config, capsys)
    world.publish_west_berkshire_letter()
    listing = world.server.routes["/search"]
    world.refuse_then_serve("/search", 10, status=503)
    capsys.readouterr()
    assert cli(config, "fetch", "--json") == 1
    out = capsys.readouterr()
    assert json_lines(out.out) == [] and re.search(r"ofsted\s+failed .*503", out.err)
    assert query(config, capsys, "detections") == []
    world.server.route("/search", listing)
    assert [d["id"] for d in fetch_json(config, capsys)] == [LETTER_KEY]


def test_daemon_keeps_the_ofsted_schedule_while_one_council_fails(
    tmp_path: Path, world: OfstedWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13.2: a council whose page keeps failing does not back the whole Ofsted source
    off: the daemon polls on its normal 1 s schedule, and each poll reads the council again."""
    caplog.set_level(logging.INFO)
    config = write_config(
        tmp_path, world, WATCHED, politeness='min_interval = 0\nevery = "1s"', http_interval=0
    )
    world.break_provider("80540", "503")
    with running(config):
        wait_for(lambda: len(requests_to(world.server, "/provider/44/80540")) >= 6, 40, "6 polls")
    gaps = [b - a for a, b in itertools.pairwise(requests_to(world.server, "/provider/44/80540"))]
    assert max(gaps[:5]) < 1.9, gaps
    assert "backing off" not in caplog.text
    assert "Reading (URN 80540): provider page HTTP 503" in caplog.text
