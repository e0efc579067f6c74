"""Listing and provider-page parsers of the Ofsted source, specified by fixture files."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from scraper.errors import ParseError
from scraper.ingest.sources.ofsted import classify_label, parse_listing, parse_provider_page
from scraper.ingest.sources.ofsted_html import file_id_of, parse_day_month_year

FIXTURES = Path(__file__).parent / "fixtures" / "ofsted"
CASES = sorted(FIXTURES.glob("*.expected.json"))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _html_of(case: Path, expected: dict[str, Any]) -> bytes:
    name = expected.get("html") or case.name.replace(".expected.json", ".html")
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name.split(".")[0])
def test_parsers_match_expected_fixture(case: Path) -> None:
    """Each HTML fixture parses to exactly the records in its expected JSON (or the error)."""
    expected = json.loads(case.read_text(encoding="utf-8"))
    body = _html_of(case, expected)
    if expected.get("error"):
        parse = parse_listing if expected["parser"] == "listing" else parse_provider_page
        with pytest.raises(ParseError):
            parse(body, base_url=expected["base_url"])
        return
    if expected["parser"] == "listing":
        entries, next_url = parse_listing(body, base_url=expected["base_url"])
        assert _jsonable([asdict(e) for e in entries]) == expected["entries"]
        assert next_url == expected["next"]
    else:
        name, links = parse_provider_page(body, base_url=expected["base_url"])
        assert name == expected["name"]
        assert _jsonable([asdict(link) for link in links]) == expected["links"]


def test_parse_listing_counts_153_over_two_pages() -> None:
    """The two listing pages hold 100 and 53 distinct LAs, 153 in all, with 7-digit URNs."""
    first, next_url = parse_listing(
        (FIXTURES / "search_la_p1.html").read_bytes(), base_url="https://reports.ofsted.gov.uk/s"
    )
    second, last = parse_listing(
        (FIXTURES / "search_la_p2.html").read_bytes(), base_url=next_url or ""
    )
    urns = {e.urn for e in first} | {e.urn for e in second}
    assert (len(first), len(second), len(urns), last) == (100, 53, 153, None)
    assert "2733690" in urns
    assert next_url and "start=100" in next_url


def test_parse_listing_empty_page_ends_without_error() -> None:
    """A page with 0 results returns no entries and no next page."""
    entries, next_url = parse_listing(
        (FIXTURES / "search_la_empty.html").read_bytes(), base_url="https://x.test/search"
    )
    assert (entries, next_url) == ([], None)


def test_parse_provider_page_ignores_header_nonvisual_spans() -> None:
    """The header's 'Ofsted homepage' span.nonvisual never becomes a report label."""
    _, links = parse_provider_page(
        (FIXTURES / "provider_label_variants.html").read_bytes(),
        base_url="https://reports.ofsted.gov.uk/provider/44/80477",
    )
    assert all("homepage" not in link.label.lower() for link in links)


def test_parse_provider_page_skips_opened_events() -> None:
    """A timeline__day--opened event is not a report even when it holds a link."""
    _, links = parse_provider_page(
        (FIXTURES / "provider_44_80577_t0.html").read_bytes(),
        base_url="https://reports.ofsted.gov.uk/provider/44/80577",
    )
    assert all("registration" not in link.url for link in links)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Children's services inspection", "inspection"),
        ("Children’s services inspection", "inspection"),
        ("Single inspection of LA children's services", "inspection"),
        ("Re-inspection of services for children in need", "inspection"),
        ("Children's services focused visit", "focused_visit"),
        ("Children's services focused visit (monitoring themes)", "focused_visit"),
        ("Joint area child protection inspection", "jtai"),
        ("Joint targeted area inspection", "jtai"),
        ("Area SEND full inspection", "area_send"),
        ("Area SEND revisit", "area_send"),
        ("Monitoring visit", "monitoring_visit"),
        ("Children's services monitoring visit", "monitoring_visit"),
        ("CHILDREN'S SERVICES MONITORING  VISIT", "monitoring_visit"),
        ("Post-inspection monitoring letter", "monitoring_visit"),
        ("Annual conversation notes", "other"),
    ],
)
def test_classify_label_maps_site_labels(label: str, expected: str) -> None:
    """Every label form the site uses maps to its report type; unknown ones to 'other'."""
    assert classify_label(label) == expected


def test_classify_label_configured_monitoring_label() -> None:
    """A configured monitoring label without the word 'monitoring' still counts."""
    assert classify_label("Improvement visit", ("Improvement visit",)) == "monitoring_visit"


def test_classify_label_logs_unknown_label_once(caplog: pytest.LogCaptureFixture) -> None:
    """An unknown label is logged once, however often it is seen."""
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            classify_label("Something entirely new 7f3a")
    assert sum("7f3a" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://files.ofsted.gov.uk/v1/file/50252257", "50252257"),
        ("https://files.api.ofsted.gov.uk/v1/file/2753832", "2753832"),
        ("https://reports.ofsted.gov.uk/provider/files/2631211/urn/103980.pdf", None),
    ],
)
def test_file_id_of_reads_numeric_ids_only_from_file_urls(url: str, expected: str | None) -> None:
    """File ids come from /v1/file/N on either host; legacy paths are keyed by URL."""
    assert file_id_of(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("04 May 2022", "2022-05-04"), ("5 august 2016", "2016-08-05"), ("31 June 2020", None)],
)
def test_parse_day_month_year_reads_site_dates(text: str, expected: str | None) -> None:
    """Site dates are D Month YYYY in any case; impossible dates are None."""
    parsed = parse_day_month_year(text)
    assert (parsed.isoformat() if parsed else None) == expected
