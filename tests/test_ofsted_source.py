"""OfstedSource.poll() over real HTTP: a loopback server playing the Ofsted site and files host."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from scraper.errors import HostDeferredError, ParseError
from scraper.ingest.fetch import Fetcher
from scraper.ingest.sources import poll_counted
from scraper.ingest.sources.ofsted import OfstedSource
from scraper.models import Council, HttpPolicy, PollContext, SourceResult
from tests.httpserver import LocalServer, Request, Response
from tests.pdfgen import build_case, build_pdf

FIXTURES = Path(__file__).parent / "fixtures" / "ofsted"
HOSTS = (
    b"https://reports.ofsted.gov.uk",
    b"https://files.api.ofsted.gov.uk",
    b"https://files.ofsted.gov.uk",
)
HTML = {"Content-Type": "text/html; charset=utf-8"}
PDF = {"Content-Type": "application/pdf"}
DEFAULT_PDF = build_case("ilacs_2019_ri")


def council(short: str, urn: str) -> Council:
    return Council(short, short, "E06000000", "000", urn, "South East")


WEST_BERKS = council("West Berkshire", "80577")
READING = council("Reading", "80540")
BANES = council("Bath and North East Somerset", "80427")
HULL = council("Kingston upon Hull", "80477")
CUMBERLAND = council("Cumberland", "2733690")


class Site:
    """Routes the fixture pages; absolute fixture URLs are rewritten to the loopback server."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.listing = {"0": "search_la_p1.html", "100": "search_la_p2.html"}
        self.etag = False
        server.route("/search", self._search)
        for name in (
            "provider_44_80577_t0",
            "provider_44_80540",
            "provider_44_80427",
            "provider_2733690",
        ):
            self.provider(name.rsplit("_", 1)[-1] if "t0" not in name else "80577", name)
        self.provider("80477", "provider_label_variants")

    def rewrite(self, body: bytes) -> bytes:
        for host in HOSTS:
            body = body.replace(host, self.server.url("").encode())
        return body

    def provider(self, urn: str, fixture: str) -> None:
        body = self.rewrite((FIXTURES / f"{fixture}.html").read_bytes())
        path = f"/provider/44/{urn}"
        self.server.route(path, Response(body=body, headers=HTML))
        for file_id in re.findall(rb"/v1/file/(\d+)", body):
            self.server.routes.setdefault(
                f"/v1/file/{file_id.decode()}", Response(body=DEFAULT_PDF, headers=PDF)
            )
        for legacy in re.findall(rb'href="(/provider/files/[^"]+)"', body):
            self.server.routes.setdefault(legacy.decode(), Response(body=DEFAULT_PDF, headers=PDF))

    def file(self, file_id: str, response: Response | Any) -> None:
        self.server.route(f"/v1/file/{file_id}", response)

    def _search(self, request: Request) -> Response:
        start = parse_qs(urlsplit(request.path).query).get("start", ["0"])[0]
        body = self.rewrite((FIXTURES / self.listing[start]).read_bytes())
        tag = f'"{abs(hash(body))}"'
        if self.etag and request.headers.get("if-none-match") == tag:
            return Response(status=304, headers={"ETag": tag})
        headers = {**HTML, "ETag": tag} if self.etag else HTML
        return Response(body=body, headers=headers)

    def requests(self) -> list[str]:
        return self.server.paths()


@pytest.fixture
def site() -> Iterator[Site]:
    with LocalServer() as server:
        yield Site(server)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    policy = HttpPolicy(min_interval=0.0, retries=0, respect_robots=False, allow_private=True)
    with Fetcher(policy, loopback_ok=True) as fetch:
        yield fetch


def poll(
    site: Site,
    fetcher: Fetcher,
    watched: tuple[Council, ...],
    previous: SourceResult | None = None,
    *,
    full_history: bool = False,
) -> SourceResult:
    ctx = PollContext(
        fetch=fetcher,
        validators=dict(previous.validators) if previous else {},
        cursor=copy.deepcopy(dict(previous.cursor or {})) if previous else {},
        watched=watched,
        now=lambda: datetime(2026, 11, 22, tzinfo=UTC),
        full_history=full_history,
    )
    return poll_counted(OfstedSource("ofsted", site.server.url("")), ctx)


def test_poll_first_poll_reads_only_watched_councils(site: Site, fetcher: Fetcher) -> None:
    """The first poll reads both listing pages and only the watched councils' pages and files."""
    result = poll(site, fetcher, (WEST_BERKS, READING))
    providers = [p for p in site.requests() if p.startswith("/provider/44/")]
    assert sorted(providers) == ["/provider/44/80540", "/provider/44/80577"]
    assert sum(p.startswith("/search") for p in site.requests()) == 2
    assert {r.urn for r in result.reports} == {"80577", "80540"}
    assert len(result.reports) == 2 + 7
    assert result.requests == len(site.requests())
    json.dumps(result.cursor)  # the cursor must be storable as JSON


@pytest.mark.parametrize("fixture", ["provider_44_80577_t1", "provider_44_80577_t1_alt"])
def test_poll_new_monitoring_visit_gives_exactly_one_report(
    site: Site, fetcher: Fetcher, fixture: str
) -> None:
    """A new monitoring letter for a watched council is one Report with every fact right."""
    first = poll(site, fetcher, (WEST_BERKS, READING))
    site.listing["0"] = "search_la_p1_t1.html"
    site.provider("80577", fixture)
    site.file("50000000", Response(body=build_case("monitoring_letter_2016"), headers=PDF))
    before = len(site.requests())
    second = poll(site, fetcher, (WEST_BERKS, READING), first)
    assert len(second.reports) == 1
    report = second.reports[0]
    assert (report.key, report.urn, report.council_name) == (
        "ofsted:50000000",
        "80577",
        "West Berkshire Council",
    )
    assert report.report_type == "monitoring_visit"
    assert report.published == date(2017, 1, 23)
    assert report.visit_dates == (date(2016, 12, 13), date(2016, 12, 14))
    assert (report.visit_number, report.inadequate_since) == (1, "2015-03")
    assert report.text_available and report.available
    paths = site.requests()[before:]
    assert [p.split("?")[0] for p in paths[:2]] == ["/search", "/search"]
    assert paths[2:] == ["/provider/44/80577", "/v1/file/50000000"]


@pytest.mark.parametrize("etag", [True, False])
def test_poll_unchanged_listing_costs_two_requests(
    site: Site, fetcher: Fetcher, etag: bool
) -> None:
    """With nothing new, a poll costs the two listing requests (304s or not) and yields nothing."""
    site.etag = etag
    first = poll(site, fetcher, (WEST_BERKS, READING, BANES))
    before = len(site.requests())
    second = poll(site, fetcher, (WEST_BERKS, READING, BANES), first)
    assert second.reports == ()
    assert second.requests == 2 == len(site.requests()) - before
    assert second.cursor is not None and second.cursor["seen"] == first.cursor["seen"]  # type: ignore[index]
    if etag:
        assert [e.status for e in site.server.log[before:]] == [304, 304]


def test_poll_focused_visit_pdf_is_never_monitoring(site: Site, fetcher: Fetcher) -> None:
    """A 'Monitoring visit' link whose PDF is a focused-visit letter is a focused visit."""
    site.provider("80577", "provider_44_80577_t1")
    site.file("50000000", Response(body=build_case("focused_visit"), headers=PDF))
    result = poll(site, fetcher, (WEST_BERKS,))
    report = next(r for r in result.reports if r.file_id == "50000000")
    assert report.report_type == "focused_visit"
    assert report.visit_number is None


@pytest.mark.parametrize("status", [200, 404])
def test_poll_report_not_found_page_is_unavailable(
    site: Site, fetcher: Fetcher, status: int
) -> None:
    """The site's HTML 'Report not found' page (200 or 404) is recorded as unavailable, no crash."""
    site.provider("80577", "provider_44_80577_t1")
    site.file(
        "50000000",
        Response.file("ofsted/report_not_found.html", status=status, content_type="text/html"),
    )
    result = poll(site, fetcher, (WEST_BERKS,))
    report = next(r for r in result.reports if r.file_id == "50000000")
    assert (report.available, report.text_available) == (False, False)
    assert report.report_type == "monitoring_visit"  # from the label, nothing invented


@pytest.mark.parametrize("case", ["image_only", "corrupt", "encrypted", "zero_bytes"])
def test_poll_unreadable_pdf_keeps_label_type(site: Site, fetcher: Fetcher, case: str) -> None:
    """Image-only, corrupt, encrypted or empty PDFs: no text, and the label's type only."""
    site.file("2467895", Response(body=build_case(case), headers=PDF))
    result = poll(site, fetcher, (WEST_BERKS,))
    report = next(r for r in result.reports if r.file_id == "2467895")
    assert (report.text_available, report.report_type, report.judgement) == (
        False,
        "inspection",
        None,
    )
    assert report.visit_dates == ()


def test_poll_transient_file_failure_fails_its_council_and_loses_nothing(
    site: Site, fetcher: Fetcher
) -> None:
    """A 503 on a new file fails that council alone, named in the poll's errors, with its cursor
    where it was; the next poll (from either cursor) still finds the file exactly once."""
    first = poll(site, fetcher, (WEST_BERKS,))
    kept = copy.deepcopy(dict(first.cursor or {}))
    site.listing["0"] = "search_la_p1_t1.html"
    site.provider("80577", "provider_44_80577_t1")
    site.file("50000000", Response(status=503, body=b"busy"))
    failed = poll(site, fetcher, (WEST_BERKS,), first)
    assert failed.reports == ()
    assert len(failed.errors) == 1
    assert failed.errors[0].startswith("West Berkshire (URN 80577): report file ")
    assert ": HTTP 503" in failed.errors[0]
    assert first.cursor == kept
    failed_cursor: Any = failed.cursor
    assert (failed_cursor["latest"], failed_cursor["seen"]) == (kept["latest"], kept["seen"])
    site.file("50000000", Response(body=build_case("monitoring_letter_2016"), headers=PDF))
    for previous in (first, failed):
        retried = poll(site, fetcher, (WEST_BERKS,), previous)
        assert [r.key for r in retried.reports] == ["ofsted:50000000"] and not retried.errors
    assert poll(site, fetcher, (WEST_BERKS,), retried).reports == ()


def test_poll_backfill_five_councils_then_nothing_new(site: Site, fetcher: Fetcher) -> None:
    """Backfill returns every report of five councils; the next ordinary poll finds no new keys."""
    watched = (READING, WEST_BERKS, BANES, HULL, CUMBERLAND)
    backfill = poll(site, fetcher, watched, full_history=True)
    per_urn = {c.ofsted_urn: sum(r.urn == c.ofsted_urn for r in backfill.reports) for c in watched}
    assert per_urn == {"80540": 7, "80577": 2, "80427": 2, "80477": 9, "2733690": 2}
    assert len({r.key for r in backfill.reports}) == 22
    again = poll(site, fetcher, watched, backfill)
    assert again.reports == () and again.requests == 2
    rerun = poll(site, fetcher, watched, backfill, full_history=True)
    assert {r.key for r in rerun.reports} == {r.key for r in backfill.reports}


def test_poll_boundary_shift_reads_duplicate_la_once(site: Site, fetcher: Fetcher) -> None:
    """An LA listed on both pages (the boundary moved) is read once."""
    site.listing["100"] = "search_la_p2_shifted.html"
    poll(site, fetcher, (WEST_BERKS,))
    assert site.requests().count("/provider/44/80577") == 1


def test_poll_seven_digit_urn_uses_listing_link(site: Site, fetcher: Fetcher) -> None:
    """Cumberland's 7-digit URN is found through the listing's own link."""
    result = poll(site, fetcher, (CUMBERLAND,))
    assert {r.council_name for r in result.reports} == {"Cumberland Council"}
    assert "/provider/44/2733690" in site.requests()


def test_poll_watched_council_missing_is_a_warning(site: Site, fetcher: Fetcher) -> None:
    """A watched council absent from the listing gives a warning, not an error."""
    result = poll(site, fetcher, (council("Nowhere", "9999999"), WEST_BERKS))
    assert any("9999999" in w for w in result.warnings)
    assert {r.urn for r in result.reports} == {"80577"}


def test_poll_bot_challenge_listing_raises(site: Site, fetcher: Fetcher) -> None:
    """A bot-challenge page instead of the listing fails the poll rather than reading as empty."""
    site.listing["0"] = "bot_challenge.html"
    with pytest.raises(ParseError):
        poll(site, fetcher, (WEST_BERKS,))


def test_poll_empty_listing_ends_cleanly(site: Site, fetcher: Fetcher) -> None:
    """A listing with 0 results ends pagination without error."""
    site.listing["0"] = "search_la_empty.html"
    result = poll(site, fetcher, (WEST_BERKS,))
    assert result.reports == () and result.requests == 1


def test_poll_cursor_keeps_councils_not_watched_this_run(site: Site, fetcher: Fetcher) -> None:
    """A poll narrowed to one council (as backfill runs) keeps the other councils' memory."""
    first = poll(site, fetcher, (WEST_BERKS, READING))
    narrowed = poll(site, fetcher, (BANES,), first, full_history=True)
    cursor: Any = narrowed.cursor
    before: Any = first.cursor
    assert set(cursor["latest"]) == set(cursor["seen"]) == {"80577", "80540", "80427"}
    for urn in ("80577", "80540"):
        assert (cursor["latest"][urn], cursor["seen"][urn]) == (
            before["latest"][urn],
            before["seen"][urn],
        )


def test_poll_newly_watched_council_is_a_silent_baseline(site: Site, fetcher: Fetcher) -> None:
    """A council added to the watchlist later yields none of its history and reads no files."""
    first = poll(site, fetcher, (WEST_BERKS,))
    before = len(site.requests())
    second = poll(site, fetcher, (WEST_BERKS, READING), first)
    assert second.reports == ()
    assert site.requests()[before + 2 :] == ["/provider/44/80540"]
    assert len(second.cursor["seen"]["80540"]) == 7  # type: ignore[index]
    third = poll(site, fetcher, (WEST_BERKS, READING), second)
    assert third.reports == () and third.requests == 2


def test_poll_missing_new_file_is_looked_at_again(site: Site, fetcher: Fetcher) -> None:
    """A new file answering "Report not found" is skipped, re-read next poll, then reported."""
    first = poll(site, fetcher, (WEST_BERKS,))
    site.listing["0"] = "search_la_p1_t1.html"
    site.provider("80577", "provider_44_80577_t1")
    site.file("50000000", Response.file("ofsted/report_not_found.html", content_type="text/html"))
    second = poll(site, fetcher, (WEST_BERKS,), first)
    assert second.reports == ()
    assert second.cursor["missing"] == {"80577": {"ofsted:50000000": 1}}  # type: ignore[index]
    site.file("50000000", Response(body=build_case("monitoring_letter_2016"), headers=PDF))
    third = poll(site, fetcher, (WEST_BERKS,), second)
    assert [(r.key, r.available) for r in third.reports] == [("ofsted:50000000", True)]
    assert third.cursor["missing"] == {}  # type: ignore[index]


@pytest.mark.parametrize("lagging", ["provider_44_80577_t0", "provider_44_80577_empty"])
def test_poll_lagging_provider_page_keeps_the_council_open(
    site: Site, fetcher: Fetcher, lagging: str
) -> None:
    """The listing shows a new report before the provider page does (a cached old page or an
    empty timeline): the council's cursor stays put, each poll warns and reads the page again,
    and the letter is reported exactly once when the page shows it."""
    first = poll(site, fetcher, (WEST_BERKS, READING))
    site.listing["0"] = "search_la_p1_t1.html"
    site.provider("80577", lagging)
    previous = first
    for _ in range(3):
        before = len(site.requests())
        lag = poll(site, fetcher, (WEST_BERKS, READING), previous)
        assert lag.reports == ()
        assert "/provider/44/80577" in site.requests()[before:]
        assert any("West Berkshire" in w and "2017-01-23" in w for w in lag.warnings)
        previous = lag
    site.provider("80577", "provider_44_80577_t1")
    site.file("50000000", Response(body=build_case("monitoring_letter_2016"), headers=PDF))
    caught = poll(site, fetcher, (WEST_BERKS, READING), previous)
    assert [r.key for r in caught.reports] == ["ofsted:50000000"]
    assert caught.reports[0].report_type == "monitoring_visit" and not caught.warnings
    before = len(site.requests())
    after = poll(site, fetcher, (WEST_BERKS, READING), caught)
    assert after.reports == () and not after.warnings
    assert "/provider/44/80577" not in site.requests()[before:]


def test_poll_newly_watched_council_waits_for_its_page_to_agree(
    site: Site, fetcher: Fetcher
) -> None:
    """A council added to the watchlist while its page lags the listing takes its baseline only
    once the page shows the listed report, so the page is read again rather than skipped."""
    first = poll(site, fetcher, (READING,))
    site.listing["0"] = "search_la_p1_t1.html"
    site.provider("80577", "provider_44_80577_empty")
    lag = poll(site, fetcher, (READING, WEST_BERKS), first)
    assert lag.reports == () and lag.warnings
    site.provider("80577", "provider_44_80577_t1")
    before = len(site.requests())
    caught = poll(site, fetcher, (READING, WEST_BERKS), lag)
    assert caught.reports == () and not caught.warnings
    assert "/provider/44/80577" in site.requests()[before:]
    assert "ofsted:50000000" in caught.cursor["seen"]["80577"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("file_id", "pdf_case", "expected"),
    [
        ("50252257", "jtai", "inspection"),
        ("50252257", "focused_visit", "inspection"),
        ("50252257", "ilacs_2024_mentions_jtai", "inspection"),
        ("50281001", "ilacs_2019_ri", "jtai"),
        ("50270002", "ilacs_2019_ri", "area_send"),
        ("50175003", "ilacs_2019_ri", "focused_visit"),
    ],
)
def test_poll_class7_specific_label_types_the_report_over_pdf_text(
    site: Site, fetcher: Fetcher, file_id: str, pdf_case: str, expected: str
) -> None:
    """Class 7: a specific site label types the report, whatever visits its PDF text mentions."""
    site.file(file_id, Response(body=build_case(pdf_case), headers=PDF))
    result = poll(site, fetcher, (READING,))
    report = next(r for r in result.reports if r.file_id == file_id)
    assert report.report_type == expected
    assert report.text_available


@pytest.mark.parametrize(
    ("pdf_case", "expected"),
    [("monitoring_letter_2016", "monitoring_visit"), ("focused_visit", "focused_visit")],
)
def test_poll_class7_generic_label_takes_type_from_pdf_text(
    site: Site, fetcher: Fetcher, pdf_case: str, expected: str
) -> None:
    """Class 7: a generic label ("Inspection report") leaves the type to the PDF's own text."""
    site.provider("80577", "provider_44_80577_t1_generic")
    site.file("50000000", Response(body=build_case(pdf_case), headers=PDF))
    result = poll(site, fetcher, (WEST_BERKS,))
    report = next(r for r in result.reports if r.file_id == "50000000")
    assert (report.label, report.report_type) == ("Inspection report", expected)


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (Response(status=503, body=b"busy"), "provider page HTTP 503"),
        (Response(status=404, body=b"gone"), "provider page HTTP 404"),
        (Response(body=b"<html>\x00\xff", headers=HTML), "provider page no h1.heading--title"),
    ],
)
def test_poll_failing_provider_page_fails_only_its_council(
    site: Site, fetcher: Fetcher, response: Response, reason: str
) -> None:
    """Issue 13.2: one council's failing page is an error naming it; the others' reports come
    back, and its own memory stays unset so the next poll reads it again in full."""
    site.server.route("/provider/44/80540", response)
    result = poll(site, fetcher, (WEST_BERKS, READING))
    assert len(result.errors) == 1
    assert result.errors[0].startswith(f"Reading (URN 80540): {reason}")
    assert {r.urn for r in result.reports} == {"80577"}
    cursor: Any = result.cursor
    assert "80540" not in cursor["latest"] and "80577" in cursor["latest"]


def test_poll_host_deferral_on_a_file_fails_the_whole_poll(site: Site, fetcher: Fetcher) -> None:
    """Issue 13.2: a long Retry-After on one council's file defers the whole host, so it is the
    poll's failure (nothing kept), not that council's alone."""
    first = poll(site, fetcher, (WEST_BERKS,))
    site.listing["0"] = "search_la_p1_t1.html"
    site.provider("80577", "provider_44_80577_t1")
    site.file("50000000", Response(status=429, headers={"Retry-After": "3600"}, body=b"slow"))
    with pytest.raises(HostDeferredError):
        poll(site, fetcher, (WEST_BERKS,), first)


def test_poll_visit_letters_carry_no_recalled_grade(site: Site, fetcher: Fetcher) -> None:
    """A report's judgement is its own: a monitoring letter recalling "children's services in X
    are inadequate" and a JTAI served with an ILACS-looking text get none; an inspection keeps
    its grade."""
    letter = (
        "Monitoring visit to West Berkshire children’s services\n"
        "This letter summarises the findings of the monitoring visit to West Berkshire"
        " children’s services on 13 and 14 December 2016. This was the first monitoring visit"
        " since the local authority was judged inadequate in March 2015.\n"
        "Children’s services in West Berkshire are inadequate and improving slowly.\n"
    )
    site.provider("80577", "provider_44_80577_t1")
    site.file("50000000", Response(body=build_pdf(letter), headers=PDF))
    west = {r.file_id: r for r in poll(site, fetcher, (WEST_BERKS,)).reports}
    assert (west["50000000"].report_type, west["50000000"].judgement) == ("monitoring_visit", None)
    assert west["2467895"].judgement == "requires_improvement"  # the ILACS text it is served
    reading = {r.file_id: r for r in poll(site, fetcher, (READING,)).reports}
    assert (reading["50281001"].report_type, reading["50281001"].judgement) == ("jtai", None)
    assert reading["50281001"].sub_judgements == {}
