"""Dates as UK news sources write them, read into timezone-aware UTC.

Council pages write "12/01/2017" meaning 12 January (DD/MM), radio feeds put "BST" in RFC 822
dates, press releases say "Jan 12th 2017" or "(Aug 5th)". General parsers (and feedparser) read
the first as 1 December or ignore BST, so every news date goes through this one parser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from scraper.clock import LONDON

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
ZONE_MINUTES = {
    "gmt": 0,
    "utc": 0,
    "ut": 0,
    "z": 0,
    "bst": 60,
    "cet": 60,
    "cest": 120,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
}
_WEEKDAY = re.compile(
    r"\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday)?\b\.?,?"
)
_MONTH_ABBR = {name[:3]: number for number, name in enumerate(MONTHS, start=1)}
_RFC822 = re.compile(
    r"^(?:(?:mon|tue|wed|thu|fri|sat|sun), )?(\d{1,2}) "
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) (\d{4}) "
    r"([01]\d|2[0-3]):([0-5]\d):([0-5]\d) ([+-]\d{4}|gmt|utc|ut|z)$"
)
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[t ]\S*)?$")
_DMY_WORDS = re.compile(r"\b(?P<d>\d{1,2})\s+(?:of\s+)?(?P<mon>[a-z]{3,9})\.?(?:\s+(?P<y>\d{4}))?")
_MDY_WORDS = re.compile(r"\b(?P<mon>[a-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:\s+(?P<y>\d{4}))?\b")
_DMY_NUMERIC = re.compile(r"\b(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4}|\d{2})\b")
_YMD_NUMERIC = re.compile(r"\b(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})\b")
_TIME = re.compile(
    r"^[\s,]*(?:at\s+)?(?P<h>\d{1,2})(?:[:.](?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<ampm>am|pm)?"
)
_ZONE = re.compile(r"^\s*(?:(?P<off>[+-]\d{2}:?\d{2})|(?P<name>[a-z]{1,4})\b)")


def parse_uk_date(text: str, *, now: datetime | None = None) -> datetime | None:
    """Read a UK-style, ISO 8601 or RFC 822 date; naive values are Europe/London local time.

    A date without a year ("Aug 5th") takes the latest such date not after `now` (+2 days).
    Returns tz-aware UTC, or None when no date can be read.
    """
    cleaned = " ".join(text.split()).lower()
    if not cleaned:
        return None
    return _parse_rfc822(cleaned) or _parse_any(cleaned, now)


def _parse_any(cleaned: str, now: datetime | None) -> datetime | None:
    if _ISO.match(cleaned):
        return _parse_iso(cleaned)
    cleaned = _ORDINAL.sub(r"\1", _WEEKDAY.sub(" ", cleaned)).replace(",", " ")
    cleaned = " ".join(cleaned.split())
    found = _find_date(cleaned, now)
    return None if found is None else _with_time(*found)


def _parse_rfc822(text: str) -> datetime | None:
    """The RSS pubDate shape ("mon, 16 nov 2026 09:05:00 +0000"), read directly: nearly every
    feed item has one, and this is ~10x cheaper than the general search below, which gives the
    same answer (tests/test_dates.py checks that on generated dates). None: not this shape."""
    found = _RFC822.match(text)
    if found is None:
        return None
    day, month, year, hour, minute, second, zone = found.groups()
    offset = ZONE_MINUTES.get(zone)
    if offset is None:
        offset = (int(zone[1:3]) * 60 + int(zone[3:5])) * (-1 if zone[0] == "-" else 1)
    try:
        value = datetime(
            int(year), _MONTH_ABBR[month], int(day), int(hour), int(minute), int(second),
            tzinfo=timezone(timedelta(minutes=offset)),
        )  # fmt: skip
    except ValueError:
        return None  # e.g. 30 February: the general search decides
    return value.astimezone(UTC)


def _parse_iso(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    return _to_utc(value, LONDON if value.tzinfo is None else value.tzinfo)


def _find_date(text: str, now: datetime | None) -> tuple[datetime, str] | None:
    """The first readable (naive date at midnight, text after it), by pattern preference."""
    for pattern in (_DMY_NUMERIC, _YMD_NUMERIC, _DMY_WORDS, _MDY_WORDS):
        for match in pattern.finditer(text):
            day = _build_date(match.groupdict(), now)
            if day is not None:
                return day, text[match.end() :]
    return None


def _month_number(word: str | None, numeric: str | None) -> int | None:
    if numeric is not None:
        return int(numeric)
    if word is None:
        return None
    for number, name in enumerate(MONTHS, start=1):
        if name.startswith(word) or (word == "sept" and number == 9):
            return number
    return None


def _build_date(parts: dict[str, str | None], now: datetime | None) -> datetime | None:
    month = _month_number(parts.get("mon"), parts.get("m"))
    day_text = parts.get("d")
    if month is None or day_text is None:
        return None
    day = int(day_text)
    if month > 12 and day <= 12 and parts.get("m") is not None:
        day, month = month, day  # only an American MM/DD date can have a "month" above 12
    reference = now or datetime.now(UTC)
    year = _year(parts.get("y"))
    try:
        value = datetime(year or reference.year, month, day)
    except ValueError:
        return None
    if year is None and value.date() > (reference + timedelta(days=2)).date():
        value = value.replace(year=value.year - 1)
    return value


def _year(text: str | None) -> int | None:
    """Four digits as written; two digits ("28/10/19") are 20xx below 70, else 19xx."""
    if text is None:
        return None
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _with_time(day: datetime, rest: str) -> datetime:
    """Add the time and zone that follow the date, if any; no zone means London."""
    match = _TIME.match(rest)
    if match and (match.group("mi") or match.group("ampm")):
        hour = int(match.group("h")) % 24
        if match.group("ampm") == "pm" and hour < 12:
            hour += 12
        elif match.group("ampm") == "am" and hour == 12:
            hour = 0
        minute = int(match.group("mi") or 0)
        second = min(int(match.group("s") or 0), 59)
        if minute < 60:
            day = day.replace(hour=hour, minute=minute, second=second)
        rest = rest[match.end() :]
    return _to_utc(day, _zone(rest) or LONDON)


def _zone(text: str) -> tzinfo | None:
    match = _ZONE.match(text)
    if match is None:
        return None
    if match.group("off"):
        digits = match.group("off").replace(":", "")
        minutes = int(digits[1:3]) * 60 + int(digits[3:5])
        return timezone(timedelta(minutes=-minutes if digits[0] == "-" else minutes))
    name = match.group("name")
    if name in ZONE_MINUTES:
        return timezone(timedelta(minutes=ZONE_MINUTES[name]))
    return None


def _to_utc(value: datetime, zone: tzinfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)
