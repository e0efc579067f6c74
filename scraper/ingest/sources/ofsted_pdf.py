"""Ofsted report PDFs: bytes -> the facts an alert needs (type, dates, judgement, summary).

Pure: no I/O besides reading the bytes given. Real Ofsted PDFs vary a lot across frameworks
(pre-SIF 2013, SIF 2013-17, ILACS 2018-22 and 2023+, monitoring and focused-visit letters), so
every extractor is a small tolerant regex over whitespace-flattened text and returns None when
unsure: unknown fields stay null rather than being invented.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from scraper.ingest.sources.ofsted_grades import GRADE_RE, judgements

log = logging.getLogger(__name__)

MAX_PAGES = 6  # the facts sit on the first pages; full reports run to 40 pages
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MONTHS = {m.lower(): i for i, m in enumerate(MONTH_NAMES, start=1)}
_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip
SUMMARY_HEADINGS = (
    "Headline findings",
    "Overall findings",
    "Summary of findings",
    "Main findings",
    "Executive summary",
    "Findings",
    "Areas covered by the visit",
    "What needs to improve",
)
_APOS = "[’'`]"


@dataclass(frozen=True, slots=True)
class PdfFacts:
    """What one report PDF says about itself; every field is None/empty when not found."""

    text_available: bool
    council_as_written: str | None = None
    report_type: str | None = None  # one of models.REPORT_TYPES, None when the text is silent
    visit_dates: tuple[date, ...] = ()
    pdf_published: date | None = None
    visit_number: int | None = None
    inadequate_since: str | None = None  # "YYYY-MM"
    judgement: str | None = None  # one of models.JUDGEMENTS
    sub_judgements: dict[str, str] = field(default_factory=dict)
    summary: str | None = None


NO_TEXT = PdfFacts(text_available=False)


def is_pdf(body: bytes) -> bool:
    """True when %PDF- starts the body after at most 1 KB of whitespace, NULs or a BOM."""
    at = body.find(b"%PDF-", 0, 1024 + 5)
    return at != -1 and not body[:at].strip(b"\xef\xbb\xbf\xfe\xff \t\r\n\x00\x0c")


def read_pdf(body: bytes) -> PdfFacts:
    """Facts from PDF bytes; corrupt, image-only or locked files give text_available=False."""
    if not is_pdf(body):
        return NO_TEXT
    text = _extract_text(body)
    if not text or not text.strip():
        return NO_TEXT
    return parse_report_text(text)


def _extract_text(body: bytes) -> str | None:
    """Text of the first pages, or None: pypdf raises many error types on bad input."""
    from pypdf import PdfReader

    start = body.find(b"%PDF-")
    try:
        reader = PdfReader(io.BytesIO(body[start:]))
        if reader.is_encrypted and not reader.decrypt(""):
            log.info("pdf encrypted with a user password; text unavailable")
            return None
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PAGES]]
    except Exception as exc:  # pypdf raises anything on corrupt input
        log.info("pdf unreadable error=%s", type(exc).__name__)
        return None
    return "\n".join(pages)


def normalise(text: str) -> str:
    """NFKC (ligatures, non-breaking spaces) and one kind of dash; keeps line breaks."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    return re.sub(r"[^\S\n]+", " ", text)


def flatten(text: str) -> str:
    """All whitespace, line breaks included, collapsed to single spaces."""
    return re.sub(r"\s+", " ", text).strip()


def parse_report_text(text: str) -> PdfFacts:
    """Facts from the extracted text of a report or letter."""
    lines = [line.strip() for line in normalise(text).split("\n")]
    flat = flatten(" ".join(lines))
    judgement, subs = judgements(flat)
    return PdfFacts(
        text_available=True,
        council_as_written=_council(lines, flat),
        report_type=classify_text(flat),
        visit_dates=_visit_dates(lines, flat),
        pdf_published=_published(flat),
        visit_number=_visit_number(flat),
        inadequate_since=_inadequate_since(flat),
        judgement=judgement,
        sub_judgements=subs,
        summary=_summary(lines, flat),
    )


_TYPE_WORDING = (
    ("jtai", r"joint targeted area inspection"),
    ("area_send", r"\barea SEND\b|\blocal area (?:SEND )?inspection\b"),
    (
        "inspection",
        rf"(?:re-)?inspection of (?:services for children in need|children{_APOS}s social care"
        rf"|.{{1,120}}? local authority children{_APOS}s services|looked after children"
        r"|safeguarding and looked after)",
    ),
    ("focused_visit", r"\bfocused visit\b"),
    ("monitoring_visit", r"\bmonitoring visit\b"),
)


def classify_text(flat: str) -> str | None:
    """Report type from the wording that comes first: the title or a letter's opening sentence.

    Reports recall earlier visits of other kinds ("since the joint targeted area inspection in
    2022", "the findings of the focused visit"), so the earliest wording, not the first rule
    that matches anywhere, says what this document is.
    """
    head = flat[:3000]
    hits: list[tuple[int, str]] = []
    opening = re.search(
        r"findings of (?:the|a|an) (?:\w+ ){0,2}?(monitoring|focused) visit", head, re.I
    )
    if opening:
        kind = "monitoring_visit" if opening.group(1).lower() == "monitoring" else "focused_visit"
        hits.append((opening.start(), kind))
    for report_type, pattern in _TYPE_WORDING:
        if found := re.search(pattern, head, re.I):
            hits.append((found.start(), report_type))
    return min(hits)[1] if hits else None


def _council(lines: list[str], flat: str) -> str | None:
    """The council's name as the PDF writes it, line-wrapped names joined."""
    patterns = (
        rf"(?:monitoring|focused) visit to (.{{2,120}}?) children{_APOS}s services",
        rf"Inspection of (.{{2,120}}?) local authority children{_APOS}s services",
        r"Joint targeted area inspection of .{0,200}? in (.{2,80}?)"
        r" (?:Inspection dates?|This (?:letter|report)|Between|From|Dates?)\b",
    )
    for pattern in patterns:
        if found := re.search(pattern, flat, re.I):
            return re.sub(r"\s+local authority$", "", found.group(1).strip(" ,."), flags=re.I)
    if named := _council_from_title_lines([line for line in lines if line]):
        return named
    found = re.search(rf"Children{_APOS}s services in (.{{2,60}}?) (?:are|is|were) ", flat, re.I)
    return found.group(1) if found else None


def _council_from_title_lines(lines: list[str]) -> str | None:
    """SIF/ILACS 2018 put the name on the line above the title; pre-SIF on the line below."""
    above = re.compile(
        rf"^(?:Re-)?inspection of (?:services for children|children{_APOS}s social care)", re.I
    )
    below = re.compile(r"^Inspection of (?:safeguarding and )?looked after children", re.I)
    for i, line in enumerate(lines):
        if above.search(line) and i > 0:
            return lines[i - 1]
        if below.search(line) and i + 1 < len(lines):
            return lines[i + 1]
    return None


_DATES_LABEL = re.compile(
    r"^(?:(?:Inspection|Visit) dates?|Dates? of (?:the )?(?:inspection|visit))\s*:?\s*(.*)$", re.I
)
_WEEKDAY = r"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri),?"
_SPAN_CUT = re.compile(r"Report published|Published|Lead inspector|Reporting inspector", re.I)


def _visit_dates(lines: list[str], flat: str) -> tuple[date, ...]:
    """Dates from the 'Inspection date(s):' line, else from a letter's 'visit to … on …'."""
    for i, line in enumerate(lines):
        found = _DATES_LABEL.match(line)
        if not found:
            continue
        span = found.group(1)
        # A span wrapped onto the next line: no year yet, or it stops at "to", "and", a dash or
        # a bare day ("19 November 2018 to 30" / "November 2018"), whose month comes next.
        unfinished = re.search(
            r"(?:\bto|\band|\buntil|-|\b\d{1,2}(?:st|nd|rd|th)?)\s*$", span, re.I
        )
        if (unfinished or not re.search(r"(?:19|20) ?\d{2}", span)) and i + 1 < len(lines):
            span += " " + lines[i + 1]
        span = _SPAN_CUT.split(span)[0]
        if dates := parse_date_span(span):
            return dates
    found = re.search(
        rf"visit to .{{2,160}}? on ((?:{_WEEKDAY} )?\d.{{4,120}}?)(?:\.\s|\.$|$)", flat, re.I
    )
    return parse_date_span(found.group(1)) if found else ()


def _published(flat: str) -> date | None:
    """The PDF's own 'Report published:' or 'Published:' date."""
    found = re.search(
        rf"(?:Report )?published\s*:?\s*(\d{{1,2}} ?\d? {_MONTH_RE} \d{{4}})", flat, re.I
    )
    if not found:
        return None
    dates = parse_date_span(found.group(1))
    return dates[0] if dates else None


def _visit_number(flat: str) -> int | None:
    """Ordinal of a monitoring visit: 'fourth monitoring visit', '5th monitoring visit'."""
    for found in re.finditer(r"\b(\w+) monitoring visit\b", flat, re.I):
        word = found.group(1).lower()
        if word in ORDINALS:
            return ORDINALS[word]
        if digits := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", word):
            return int(digits.group(1))
    return None


def _inadequate_since(flat: str) -> str | None:
    """'judged inadequate in December 2021' -> '2021-12'."""
    found = re.search(
        rf"judged (?:to be )?[‘'\"“]?inadequate[’'\"”]? in ({_MONTH_RE}) ((?:19|20)\d{{2}})",
        flat,
        re.I,
    )
    if not found:
        return None
    return f"{found.group(2)}-{_month(found.group(1)):02d}"


def _summary(lines: list[str], flat: str) -> str | None:
    """First one or two sentences of the findings, at most 300 characters.

    A findings heading wins; ILACS reports have none, so their paragraph after the judgement
    table comes next; 'What needs to improve' (a list) is the last resort.
    """
    wanted = {h.lower(): rank for rank, h in enumerate(SUMMARY_HEADINGS)}
    best: tuple[int, int] | None = None
    for i, line in enumerate(lines):
        rank = wanted.get(line.strip().rstrip(":?").lower())
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, i)
    last_resort = len(SUMMARY_HEADINGS) - 1
    if best is not None and best[0] < last_resort:
        return _sentences(flatten(" ".join(lines[best[1] + 1 : best[1] + 30])))
    table_end = re.search(rf"Overall effectiveness {GRADE_RE}\b", flat)
    if table_end:
        after = flat[table_end.end() : table_end.end() + 2000]
        for heading in SUMMARY_HEADINGS:
            after = after.split(heading, 1)[0]
        if summary := _sentences(after):
            return summary
    if best is not None:
        return _sentences(flatten(" ".join(lines[best[1] + 1 : best[1] + 30])))
    return None


def _sentences(text: str) -> str | None:
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z‘“'\"])", text.strip())
    summary = sentences[0]
    if len(sentences) > 1 and len(summary) + 1 + len(sentences[1]) <= 300:
        summary += " " + sentences[1]
    if len(summary) > 300:
        summary = summary[:299].rsplit(" ", 1)[0] + "…"
    return summary or None


def _month(name: str) -> int:
    key = name.lower()
    return MONTHS.get(key) or next(n for m, n in MONTHS.items() if m.startswith(key[:3]))


_DAY_TOKEN = re.compile(
    rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?![/.:]\d)(?:\s*(?P<month>{_MONTH_RE})\b\.?)?"
    r"(?:,?\s*(?P<year>(?:19|20)\d{2})\b)?",
    re.I,
)


def parse_date_span(text: str) -> tuple[date, ...]:
    """Every day a span writes out, month and year carried back from later parts.

    A range gives its start and end dates only ("15 to 26 November 2018" -> 15 and 26
    November), because ranges may hold gaps (weekends, split visits); "7 and 8 June" gives both.
    """
    text = normalise(text).replace("\n", " ")
    text = re.sub(r"\b(19|20) (\d{2})\b", r"\1\2", text)  # split year "20 23"
    text = re.sub(rf"\b(\d) (\d)(?= {_MONTH_RE}\b)", r"\1\2", text, flags=re.I)  # "1 9 June"
    parts = [
        (
            int(m["day"]),
            _month(m["month"]) if m["month"] else None,
            int(m["year"]) if m["year"] else None,
        )
        for m in _DAY_TOKEN.finditer(text)
    ]
    dates: list[date] = []
    month: int | None = None
    year: int | None = None
    later: date | None = None
    for day, own_month, own_year in reversed(parts):
        month = own_month or month
        year = own_year or year
        if month is None or year is None:
            continue
        try:
            when = date(year, month, day)
        except ValueError:
            continue
        if own_year is None and later is not None and when > later:
            when = when.replace(year=year - 1)  # "30 December to 3 January 2020"
        dates.append(when)
        later = when
    return tuple(sorted(set(dates)))
