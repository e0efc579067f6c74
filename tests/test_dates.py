"""UK news date parsing into timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper.ingest.dates import _parse_any, _parse_rfc822, parse_uk_date

NOW = datetime(2016, 8, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 January 2017", datetime(2017, 1, 12, 0, 0, tzinfo=UTC)),
        ("12/01/2017", datetime(2017, 1, 12, 0, 0, tzinfo=UTC)),
        ("12.01.2017", datetime(2017, 1, 12, 0, 0, tzinfo=UTC)),
        ("Jan 12th 2017", datetime(2017, 1, 12, 0, 0, tzinfo=UTC)),
        ("January 12, 2017", datetime(2017, 1, 12, 0, 0, tzinfo=UTC)),
        ("Thursday 12 January 2017", datetime(2017, 1, 12, 0, 0, tzinfo=UTC)),
        ("3rd of March, 2015", datetime(2015, 3, 3, 0, 0, tzinfo=UTC)),
        ("28/10/19", datetime(2019, 10, 28, 0, 0, tzinfo=UTC)),  # GMT again from 27 Oct
        ("7 June 2022", datetime(2022, 6, 6, 23, 0, tzinfo=UTC)),
        ("Sept 3 2019", datetime(2019, 9, 2, 23, 0, tzinfo=UTC)),
        ("12/01/2017 09:30:00", datetime(2017, 1, 12, 9, 30, tzinfo=UTC)),
        ("12 July 2024 9:30am", datetime(2024, 7, 12, 8, 30, tzinfo=UTC)),
        ("Posted on 3 March 2015 at 2pm", datetime(2015, 3, 3, 14, 0, tzinfo=UTC)),
        ("2024-07-12", datetime(2024, 7, 11, 23, 0, tzinfo=UTC)),
        ("2024-07-12T09:30:00+01:00", datetime(2024, 7, 12, 8, 30, tzinfo=UTC)),
        ("2024-07-12T08:30:00Z", datetime(2024, 7, 12, 8, 30, tzinfo=UTC)),
        ("2016-12-20 10:00", datetime(2016, 12, 20, 10, 0, tzinfo=UTC)),
        ("Mon, 07 Apr 2025 13:47:06 +0000", datetime(2025, 4, 7, 13, 47, 6, tzinfo=UTC)),
        ("Mon, 07 Apr 2025 13:47:06 GMT", datetime(2025, 4, 7, 13, 47, 6, tzinfo=UTC)),
        ("Mon, 07 Apr 2025 13:47:06 +01:00", datetime(2025, 4, 7, 12, 47, 6, tzinfo=UTC)),
        ("Mon, 07 Apr 2025 13:47:06 +0100", datetime(2025, 4, 7, 12, 47, 6, tzinfo=UTC)),
        ("Thu, 12 Jan 2017 10:00:00 BST", datetime(2017, 1, 12, 9, 0, tzinfo=UTC)),
        ("Tue, 16 May 2023 09:00:00 -0400", datetime(2023, 5, 16, 13, 0, tzinfo=UTC)),
        ("Mon, 07 Apr 2025 13:47:06", datetime(2025, 4, 7, 12, 47, 6, tzinfo=UTC)),
    ],
)
def test_parse_uk_date_reads_uk_iso_and_rfc822(text: str, expected: datetime) -> None:
    """UK, ISO 8601 and RFC 822 dates become UTC; naive ones are read as London time."""
    parsed = parse_uk_date(text, now=NOW)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo == UTC


@pytest.mark.parametrize("text", ["", "   ", "rubbish", "31/02/2017", "32 January 2017",
                                  "Reading 2017", "version 1.2.3", "2024-13-45"])  # fmt: skip
def test_parse_uk_date_returns_none_when_unreadable(text: str) -> None:
    """Text without a valid date gives None rather than a guess."""
    assert parse_uk_date(text, now=NOW) is None


def test_parse_uk_date_without_year_takes_latest_not_in_future() -> None:
    """ "(Aug 5th)" in a story from August 2016 is 5 August 2016; "Dec 20" is last December."""
    assert parse_uk_date("published today (Aug 5th)", now=NOW) == datetime(
        2016, 8, 4, 23, 0, tzinfo=UTC
    )
    assert parse_uk_date("Dec 20", now=NOW) == datetime(2015, 12, 20, 0, 0, tzinfo=UTC)


def test_parse_uk_date_swaps_only_impossible_day_month() -> None:
    """DD/MM is assumed; an American 01/28/2017 (month 28) is read the only way it can be."""
    assert parse_uk_date("01/02/2017", now=NOW) == datetime(2017, 2, 1, 0, 0, tzinfo=UTC)
    assert parse_uk_date("01/28/2017", now=NOW) == datetime(2017, 1, 28, 0, 0, tzinfo=UTC)


WEEKDAYS = ("", "Mon, ", "Tue, ", "Wed, ", "Thu, ", "Fri, ", "Sat, ", "Sun, ")
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ZONES = ("+0000", "-0500", "+0130", "+1400", "-1200", "GMT", "UT", "UTC", "Z", "BST", "EST")


@settings(max_examples=400, deadline=None)
@given(
    weekday=st.sampled_from(WEEKDAYS),
    day=st.integers(1, 31),
    month=st.sampled_from(MONTH_ABBR),
    year=st.integers(1990, 2040),
    hms=st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)),
    zone=st.sampled_from(ZONES),
)
def test_rfc822_shortcut_agrees_with_the_general_reading(
    weekday: str, day: int, month: str, year: int, hms: tuple[int, int, int], zone: str
) -> None:
    """The direct reading of RSS pubDates gives exactly what the general date search gives."""
    text = f"{weekday}{day:02d} {month} {year} {hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d} {zone}"
    cleaned = " ".join(text.split()).lower()
    assert parse_uk_date(text) == _parse_any(cleaned, None)
    if zone not in ("BST", "EST") and day <= 28:
        assert _parse_rfc822(cleaned) is not None  # the shortcut did read it
