"""Judgements in the text of an Ofsted children's services report: overall, per area, LSCB.

Pure functions of whitespace-flattened text. Three families of layout carry grades: the
SIF/re-inspection front page (a sentence, then numbered areas; 2013-2018), the "Summary of
judgements" table or "Area: Grade" lines of the same era, and the ILACS table (2018 on). pypdf
splits every one of them differently (a grade on its own lines, "Requires / Improvement", a
footnote number between area and grade), so the patterns allow any whitespace and an optional
colon, bar or footnote digit between an area and its grade.

The pre-2013 grade "adequate" is not in the vocabulary and is never read as a grade: the
patterns match whole words, so "adequate" cannot be taken for "inadequate".
"""

from __future__ import annotations

import re

_APOS = "[’'`]"
# "require improvement" is the plural verb SIF front pages use ("children's services require
# improvement"); it is the same grade as "requires improvement (to be good)".
GRADE_RE = r"(?:Outstanding|Good|Requires?\s+improvement(?:\s+to\s+be\s+good)?|Inadequate)"
# The areas the SIF framework (2013-2018) graded, as its reports write them.
SIF_AREAS = (
    "Children who need help and protection",
    "Children looked after and achieving permanence",
    "Adoption performance",
    "Experiences and progress of care leavers",
    "Leadership, management and governance",
)
# The Local Safeguarding Children Board's review was published with the SIF report and graded
# separately: it is kept under its own key, never taken for the council's judgement.
LSCB = "Local Safeguarding Children Board"
_BETWEEN = r"\s*[:|]?\s*(?:\d{1,2}\s+)?"  # colon, table bar or footnote number before a grade
_LSCB_PATTERNS = (
    rf"effectiveness of the (?:{LSCB}|LSCB)(?: \(LSCB\))?(?: is)?{_BETWEEN}({GRADE_RE})\b",
    rf"\bThe (?:{LSCB}|LSCB)(?: \(LSCB\))? (?:is ({GRADE_RE})|(requires? improvement))\b",
)
_OVERALL_PATTERNS = (
    rf"overall judgement is that children{_APOS}s services"
    rf" (?:(?:are|is) ({GRADE_RE})|(requires? improvement(?:\s+to\s+be\s+good)?))",
    rf"Children{_APOS}s services in .{{2,80}}?"
    rf" (?:(?:are|is) ({GRADE_RE})|(requires? improvement(?:\s+to\s+be\s+good)?))",
    rf"Overall effectiveness\s*:?\s*({GRADE_RE})",
)


def grade(text: str) -> str:
    """'Requires improvement to be good', 'require improvement' -> 'requires_improvement'."""
    word = text.lower().split()[0]
    return "requires_improvement" if word.startswith("require") else word


def judgements(flat: str) -> tuple[str | None, dict[str, str]]:
    """The council's overall grade and its areas' grades (plus the LSCB's, apart)."""
    areas = table_areas(flat) or sif_areas(flat) or numbered_areas(flat)
    lscb = lscb_grade(flat)
    if lscb:
        areas[LSCB] = lscb
    return overall(flat), areas


def overall(flat: str) -> str | None:
    """The overall wording that comes first: the SIF front-page sentence or the judgement
    table's 'Overall effectiveness' row both open their reports, while a later sentence of the
    narrative ("children's services in X are good at listening") is not the judgement."""
    hits = [m for p in _OVERALL_PATTERNS if (m := re.search(p, flat, re.I))]
    if not hits:
        return None
    first = min(hits, key=lambda m: m.start())
    return grade(next(g for g in first.groups() if g))


def lscb_grade(flat: str) -> str | None:
    """The LSCB review's grade: 'The Local Safeguarding Children Board is good' and the like."""
    for pattern in _LSCB_PATTERNS:
        if found := re.search(pattern, flat, re.I):
            return grade(next(g for g in found.groups() if g))
    return None


def sif_areas(flat: str) -> dict[str, str]:
    """Each SIF area's first occurrence with its grade: right after it (list, lines, table) or
    inside it, where pypdf read a two-column row line by line ("achieving Inadequate
    permanence")."""
    areas: dict[str, str] = {}
    for area in SIF_AREAS:
        for found in re.finditer(_area_pattern(area), flat, re.I):
            if graded := next((g for g in found.groups() if g), None):
                areas[area] = grade(graded)
                break
    return areas


def _area_pattern(area: str) -> str:
    """The area's words with an optional grade between any two of them or after the last.

    ILACS areas contain these words ("the experiences and progress of children who need help
    and protection"): those are not SIF rows, hence the look-behinds.
    """
    words = [re.escape(w) for w in area.split()]
    body = rf"(?:\s+({GRADE_RE}))?\s+".join(words)
    return rf"(?<!progress of )(?<!the )\b{body}(?:{_BETWEEN}({GRADE_RE}))?\b"


def numbered_areas(flat: str) -> dict[str, str]:
    """Numbered rows after the SIF sentence, for area wordings not in SIF_AREAS."""
    start = re.search(
        rf"overall judgement is that|Children{_APOS}s services in .{{2,60}}? (?:are|is) ",
        flat,
        re.I,
    )
    if not start:
        return {}
    segment = flat[start.end() : start.end() + 2000]
    areas: dict[str, str] = {}
    row = rf"\b\d(?:\.\d)?\.? ([A-Z][A-Za-z ,’'()-]{{4,140}}?) ({GRADE_RE})\b"
    for found in re.finditer(row, segment):
        areas.setdefault(found.group(1).strip(), grade(found.group(2)))
    return areas


def table_areas(flat: str) -> dict[str, str]:
    """ILACS 'Judgement Grade' table: area text, then its grade (cells may wrap)."""
    table = re.search(rf"Judgement Grade (.{{10,1200}}?Overall effectiveness {GRADE_RE})", flat)
    if not table:
        return {}
    areas: dict[str, str] = {}
    last = 0
    body = table.group(1)
    for found in re.finditer(GRADE_RE, body):
        area = body[last : found.start()].strip(" .,")
        last = found.end()
        if area and area.lower() != "overall effectiveness":
            areas.setdefault(area, grade(found.group(0)))
    return areas
