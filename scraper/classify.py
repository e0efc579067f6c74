"""What an item says: is it about an Ofsted visit to a council's children's services, which kind
of visit, and what judgement.

News wording is loose ("targeted visit" for a focused visit, "'Adequate' rating" from the old
framework), so the vocabulary lives in pattern tables compiled once; the title is trusted before
the body because headlines state the news while bodies recount history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from scraper.models import Classification, Item
from scraper.textnorm import fold_quotes

_I = re.I
_Q = r"['\"]?"  # an optional quote around a grade: 'inadequate'


def _rx(*alternatives: str, flags: int = _I) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives), flags)


OFSTED = _rx(
    r"\bofsted\b",
    r"\b(?:his|her) majesty's inspectors?\b",
    r"joint targeted area inspection",
    r"\bJTAI\b",
)
INSPECTOR_VISIT = _rx(r"\binspectors?\b.{0,200}\b(?:monitoring|focused) visit", flags=_I | re.S)
CHILDRENS_SERVICES = _rx(
    r"\bchildren's (?:social )?services?\b",
    r"\bchildren's social (?:care|work)",
    r"\bsocial care for children",
    r"\bservices? for children\b",
    r"\bchild protection\b",
    r"\bhelp and protection\b",
    r"\bcare leavers?\b",
    r"\bchildren (?:in care|looked after)\b",
    r"\blooked[- ]after children\b",
    rf"\binadequate{_Q}[- ](?:rated )?councils?\b",
    r"\barea (?-i:SEND)\b",
    r"\blocal area partnership",
    r"(?-i:SEND) inspection",
    r"\bsocial workers?\b",
    r"joint targeted area inspection",
    r"\bJTAIs?\b",
    r"\bmulti-agency response\b",
)
# Ofsted's own grade words stand in for "Ofsted" in bare headlines ("… 'require improvement'"),
# unless another inspectorate is named.
OFSTED_GRADES = _rx(
    r"\brequires? improvement\b", r"\binadequate\b", r"\b(?:monitoring|focused) visit"
)
OTHER_INSPECTORATE = _rx(r"\bCQC\b", r"Care Quality Commission", r"\bEstyn\b", r"Care Inspectorate")
SCHOOL = _rx(
    r"\bschools?\b",
    r"\bacadem(?:y|ies)\b",
    r"\bpupils?\b",
    r"\bhead ?teachers?\b",
    r"\bteachers?\b",
    r"\bGCSEs?\b",
    r"\bsixth form\b",
    r"\bclassrooms?\b",
    r"\bnursery\b",
    r"\bcolleges?\b",
    r"\blessons\b",
)
CHILDRENS_HOME = _rx(r"\bchildren's homes?\b", r"\bresidential (?:children's )?homes?\b")
AREA_SEND_ONLY = _rx(r"\barea (?-i:SEND)\b", r"(?-i:SEND) inspection", r"local area partnership")

ORDINAL = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))"
# Report types whose wording is specific, in priority order for ties at the same position.
STRONG_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("jtai", _rx(r"joint targeted area inspection", r"\bJTAIs?\b", r"joint area child protection")),
    ("area_send", _rx(r"\barea (?-i:SEND)\b", r"(?-i:SEND) (?:area )?inspection")),
    (
        "monitoring_visit",
        _rx(
            r"\bmonitoring (?:visits?|letter)",
            rf"\b{ORDINAL} (?:visit )?since .{{0,80}}?(?:judged|rated|found) {_Q}inadequate",
            r"\bfollow[- ]up visit",
        ),
    ),
    ("focused_visit", _rx(r"\bfocus(?:s)?ed visits?\b", r"\btargeted visits?\b")),
    ("other", _rx(r"\bcommissioner\b", r"\b(?:statutory )?direction\b", r"improvement notice")),
)
GRADE = (
    r"(outstanding|(?<!improvement to be )good(?!\s+(?:as|practice|progress|work|news|quality)\b)"
    r"|requires? improvement(?: to be good)?|inadequate)"
)
INSPECTION_STRONG = _rx(
    r"\b(?:re-?)?inspections?\b",
    rf"\bno longer {_Q}inadequate",
    rf"\bditch\w* {_Q}inadequate",
    rf"\brat(?:es|ed|ing)\b[^.]{{0,40}}?\b{_Q}{GRADE}\b",
    rf"\bjudged {_Q}{GRADE}\b",
    rf"\b{GRADE}{_Q} (?:ofsted )?(?:rating|grade|judgement)",
    rf"{_Q}adequate{_Q} (?:ofsted )?rating",
    rf"\b(?:services?|council) {_Q}requires? improvement",
    rf"\bare (?:now )?{_Q}{GRADE}\b",
    rf"\bfrom {_Q}\w+[\w ]*?{_Q} to {_Q}{GRADE}\b",
    r"\bILACS\b",
)
INSPECTION_WEAK = _rx(r"\brat(?:es|ed|ing)\b", r"\bjudged\b", r"overall effectiveness", r"graded")

GRADE_IN_CONTEXT = re.compile(
    r"(?:\b(?:rated|rates|rating|judged|judges|graded|as|are|is|were|was|be|now|to|remains?|"
    rf"services?)\s+(?:as\s+)?(?:being\s+)?{_Q}{GRADE}\b)"
    rf"|(?:\b(?:rated|rates|judged|judges|graded)\s+(?:[\w'&]+\s+){{1,5}}?{_Q}{GRADE}\b)"
    rf"|(?:['\"]{GRADE}['\"])"
    rf"|(?:\b{GRADE}{_Q}\s+(?:overall|rating|grade|judgement|by ofsted))"
    r"|(?:overall effectiveness:?\s+" + GRADE + ")",
    _I,
)
# Wording before a grade that makes it history rather than the news ("no longer inadequate").
GRADE_NEGATED = re.compile(
    r"(?:no longer|from|previously|previous|since|after being|had been|last|formerly|out of|"
    r"before|prior|ditch\w*)\s+(?:(?!to\b)\w+\s+){0,2}$",
    _I,
)
# Wording after a grade that dates it: "judged inadequate in March 2015" is history.
GRADE_DATED = re.compile(rf"{_Q},?\s+(?:in|since)\s+(?:[A-Z][a-z]+\s+)?(?:19|20)\d\d\b")
ORDINAL_WORDS: tuple[str, ...] = ("first", "second", "third", "fourth", "fifth")
ORDINAL_WORDS += ("sixth", "seventh", "eighth", "ninth", "tenth")
ORDINALS = {word: i + 1 for i, word in enumerate(ORDINAL_WORDS)}
MONITORING_ORDINAL = re.compile(rf"\b({ORDINAL}) (?:ofsted )?monitoring visit", _I)


def classify(item: Item, *, include_childrens_homes: bool = False) -> Classification:
    """Classify a feed item from its title, summary and body."""
    text = "\n".join(t for t in (item.summary, item.body) if t)
    return classify_text(item.title, text, include_childrens_homes=include_childrens_homes)


def classify_text(
    title: str, text: str, *, include_childrens_homes: bool = False
) -> Classification:
    """Relevance, report type and judgement of a story, title first."""
    title, text = _clean(title), _clean(text)
    relevant, reasons = _relevance(f"{title}\n{text}", include_childrens_homes)
    report_type = _report_type(title, text)
    if report_type is None and relevant:
        report_type = "other"
    judgement = _judgement(title, text) if report_type == "inspection" else None
    return Classification(relevant, report_type, judgement, tuple(reasons))


def monitoring_ordinal(text: str) -> int | None:
    """The ordinal of a monitoring visit ("fourth monitoring visit", "5th monitoring visit")."""
    found = MONITORING_ORDINAL.search(_clean(text))
    if found is None:
        return None
    word = found.group(1).lower()
    return ORDINALS.get(word) or int(re.sub(r"\D", "", word))


def _clean(text: str) -> str:
    return re.sub(r"[ \t\u00a0]+", " ", fold_quotes(text or ""))


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in pattern.finditer(text))


def _relevance(text: str, include_homes: bool) -> tuple[bool, list[str]]:
    proxy = OFSTED_GRADES.search(text) and not OTHER_INSPECTORATE.search(text)
    if not (OFSTED.search(text) or INSPECTOR_VISIT.search(text) or proxy):
        return False, ["no Ofsted context"]
    services = _count(CHILDRENS_SERVICES, text)
    homes = _count(CHILDRENS_HOME, text)
    if services == 0 and not (include_homes and homes):
        return False, ["no children's services context"]
    reasons = [f"children's services mentions={services}"]
    schools = _count(SCHOOL, text)
    if schools > services + (homes if include_homes else 0) and not AREA_SEND_ONLY.search(text):
        return False, [*reasons, f"school story (school mentions={schools})"]
    if homes and homes >= services and not include_homes:
        return False, [*reasons, f"children's home story (home mentions={homes})"]
    return True, reasons


def _report_type(title: str, text: str) -> str | None:
    """Title's specific wording, then the title's inspection wording, then the text's."""
    found = _earliest_strong(title)
    if found is not None:
        return found
    if INSPECTION_STRONG.search(title):
        return "inspection"
    for part in text.split("\n"):
        found = _earliest_strong(part)
        if found is not None:
            return found
        if INSPECTION_STRONG.search(part):
            return "inspection"
    return "inspection" if INSPECTION_WEAK.search(f"{title}\n{text}") else None


def _earliest_strong(text: str) -> str | None:
    best: tuple[int, int, str] | None = None
    for rank, (name, pattern) in enumerate(STRONG_TYPES):
        found = pattern.search(text)
        if found and (best is None or (found.start(), rank) < best[:2]):
            best = (found.start(), rank, name)
    return best[2] if best else None


def _judgement(title: str, text: str) -> str | None:
    for part in (title, *text.split("\n")):
        for grade in _grades(part):
            return grade
    return None


def _grades(text: str) -> Iterable[str]:
    for found in GRADE_IN_CONTEXT.finditer(text):
        word = next(g for g in found.groups() if g)
        start = found.start(found.lastindex or 0)
        before = text[max(0, start - 40) : start].rstrip("'\" ") + " "
        if GRADE_NEGATED.search(before) or GRADE_DATED.match(text, found.end()):
            continue
        yield _grade_name(word)


def _grade_name(word: str) -> str:
    lowered = word.lower()
    if "improvement" in lowered:
        return "requires_improvement"
    return lowered
