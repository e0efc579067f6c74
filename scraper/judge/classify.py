"""What an item says: is it about an Ofsted visit to a council's children's services, which kind
of visit, and what judgement.

News wording is loose ("targeted visit" for a focused visit, "'Adequate' rating" from the old
framework), so the vocabulary lives in pattern tables compiled once; the title is trusted before
the body because headlines state the news while bodies recount history.

Most feed items are other news, and this runs on every one, so two cheap gates come first: a
story with none of the words the Ofsted patterns need is not relevant, and one with none of the
words the type patterns need has no type. Each pattern also carries a `lead` set of first
characters, which spares the regex engine trying every alternative at every position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from scraper.judge.textnorm import fold_quotes, gate_text
from scraper.models import Classification, Item

_I = re.I
_Q = r"['\"]?"  # an optional quote around a grade: 'inadequate'


def _rx(*alternatives: str, lead: str = "", flags: int = _I) -> re.Pattern[str]:
    """One alternation; `lead` lists every character a match can start with (case-blind).

    The lookahead rejects most positions with one set test instead of trying every
    alternative there; tests/test_classify.py checks each lead against its alternatives.
    """
    body = "|".join(f"(?:{a})" for a in alternatives)
    return re.compile(f"(?=[{lead}])(?:{body})" if lead else body, flags)


def _rx_by_letter(groups: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """_rx for a long, hot family, its alternatives grouped under the letter they start with.

    At each position only one group is tried. Alternatives in different groups cannot match
    at the same position and keep their order within a group, so the matches are exactly
    those of the plain alternation.
    """
    body = "|".join(f"(?={letter})(?:{'|'.join(alts)})" for letter, alts in groups.items())
    return re.compile(f"(?=[{''.join(groups)}])(?:{body})", _I)


OFSTED = _rx(
    r"\bofsted\b",
    r"\b(?:his|her) majesty's inspectors?\b",
    r"joint targeted area inspection",
    r"\bJTAI\b",
    lead="ohj",
)
INSPECTOR_VISIT = _rx(
    r"\binspectors?\b.{0,200}\b(?:monitoring|focused) visit", lead="i", flags=_I | re.S
)
CHILDRENS_SERVICES = _rx_by_letter(
    {
        "c": (
            r"\bchildren's (?:social )?services?\b",
            r"\bchildren's social (?:care|work)",
            r"\bchild protection\b",
            r"\bcare leavers?\b",
            r"\bchildren (?:in care|looked after)\b",
        ),
        "s": (
            r"\bsocial care for children",
            r"\bservices? for children\b",
            r"(?-i:SEND) inspection",
            r"\bsocial workers?\b",
        ),
        "h": (r"\bhelp and protection\b",),
        "l": (r"\blooked[- ]after children\b", r"\blocal area partnership"),
        "i": (rf"\binadequate{_Q}[- ](?:rated )?councils?\b",),
        "a": (r"\barea (?-i:SEND)\b",),
        "j": (r"joint targeted area inspection", r"\bJTAIs?\b"),
        "m": (r"\bmulti-agency response\b",),
    }
)
# Ofsted's own grade words stand in for "Ofsted" in bare headlines ("… 'require improvement'"),
# unless another inspectorate is named.
OFSTED_GRADES = _rx(
    r"\brequires? improvement\b", r"\binadequate\b", r"\b(?:monitoring|focused) visit", lead="rimf"
)
OTHER_INSPECTORATE = _rx(
    r"\bCQC\b", r"Care Quality Commission", r"\bEstyn\b", r"Care Inspectorate", lead="ce"
)
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
    lead="saphtgcnl",
)
CHILDRENS_HOME = _rx(r"\bchildren's homes?\b", r"\bresidential (?:children's )?homes?\b", lead="cr")
AREA_SEND_ONLY = _rx(
    r"\barea (?-i:SEND)\b", r"(?-i:SEND) inspection", r"local area partnership", lead="asl"
)

ORDINAL = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))"
# Report types whose wording is specific, in priority order for ties at the same position: one
# alternation of named groups, whose leftmost match is the earliest type, ties to the first.
STRONG_TYPES: tuple[tuple[str, str], ...] = (
    ("jtai", r"joint targeted area inspection|\bJTAIs?\b|joint area child protection"),
    ("area_send", r"\barea (?-i:SEND)\b|(?-i:SEND) (?:area )?inspection"),
    (
        "monitoring_visit",
        rf"\bmonitoring (?:visits?|letter)"
        rf"|\b{ORDINAL} (?:visit )?since .{{0,80}}?(?:judged|rated|found) {_Q}inadequate"
        r"|\bfollow[- ]up visit",
    ),
    ("focused_visit", r"\bfocus(?:s)?ed visits?\b|\btargeted visits?\b"),
    ("other", r"\bcommissioner\b|\b(?:statutory )?direction\b|improvement notice"),
)
STRONG_TYPE = _rx(*(f"(?P<{name}>{rx})" for name, rx in STRONG_TYPES), lead=r"jasmftencdi\d")
GRADE = (
    r"(outstanding|(?<!improvement to be )good(?!\s+(?:as|practice|progress|work|news|quality)\b)"
    r"|requires? improvement(?: to be good)?|inadequate)"
)
INSPECTION_STRONG = _rx(
    r"\b(?:re-?)?inspections?\b",
    rf"\bno longer {_Q}inadequate",
    rf"\bditch\w* {_Q}inadequate",
    rf"\brat(?:es|ed|ing)\b[^.]{{0,40}}?\b{_Q}{GRADE}\b",
    rf"\bjudg(?:es|ed)\b[^.]{{0,40}}?\b{_Q}{GRADE}\b",
    rf"\b{GRADE}{_Q} (?:ofsted )?(?:rating|grade|judgement)",
    rf"{_Q}adequate{_Q} (?:ofsted )?rating",
    rf"\b(?:services?|council) (?:(?:still|now|also|continues? to) )?{_Q}requires? improvement",
    rf"\bare (?:now )?{_Q}{GRADE}\b",
    rf"\bfrom {_Q}\w+[\w ]*?{_Q} to {_Q}{GRADE}\b",
    r"\bILACS\b",
    lead="rindjogacsf'\"",
)
INSPECTION_WEAK = _rx(
    r"\brat(?:es|ed|ing)\b", r"\bjudged\b", r"overall effectiveness", r"graded", lead="rjog"
)
# A grade in a "since" clause is the past the story measures from ("improved since it was judged
# inadequate"), never the story's own type wording or judgement.
HISTORY = _rx(
    r"\bsince\s+(?:[\w']+\s+){0,5}?(?:judged|rated|graded|found|was|were|been)\s+"
    rf"(?:[\w']+\s+){{0,2}}?{_Q}{GRADE}\b{_Q}",
    lead="s",
)

GRADE_IN_CONTEXT = _rx(
    r"\b(?:rated|rates|rating|judged|judges|graded|as|are|is|were|was|be|now|still|to|remains?|"
    rf"services?)\s+(?:as\s+)?(?:being\s+)?{_Q}{GRADE}\b",
    rf"\b(?:rated|rates|judged|judges|graded)\s+(?:[\w'&]+\s+){{1,5}}?{_Q}{GRADE}\b",
    rf"['\"]{GRADE}['\"]",
    rf"\b{GRADE}{_Q}\s+(?:overall|rating|grade|judgement|by ofsted)",
    r"overall effectiveness:?\s+" + GRADE,
    lead="rjgaiwbntso'\"",
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
MONITORING_ORDINAL = re.compile(rf"(?=[fsten\d])\b({ORDINAL}) (?:ofsted )?monitoring visit", _I)

# Gate words, lower case: every match of OFSTED, INSPECTOR_VISIT or OFSTED_GRADES contains one
# of OFSTED_WORDS; every match of SCHOOL one of SCHOOL_WORDS; every match of STRONG_TYPE,
# INSPECTION_STRONG or INSPECTION_WEAK one of TYPE_WORDS. Keep them in step with the patterns
# (a property test checks).
OFSTED_WORDS = ("ofsted", "majesty", "inspect", "jtai", "improvement", "inadequate", "visit")
SCHOOL_WORDS: tuple[str, ...] = ("school", "academ", "pupil", "teacher", "gcse", "sixth form")
SCHOOL_WORDS += ("classroom", "nursery", "college", "lessons")
TYPE_WORDS = (
    *("joint", "jtai", "send", "monitoring", "since", "follow", "visit", "commissioner"),
    *("direction", "improvement", "inspect", "adequate", "rates", "rated", "rating", "judged"),
    *("outstanding", "good", "ilacs", "overall effectiveness", "graded"),
)
_BLANKS = re.compile(r"[ \t\u00a0]+")


def classify(item: Item, *, include_childrens_homes: bool = False) -> Classification:
    """Classify a feed item from its title, summary and body."""
    text = "\n".join(t for t in (item.summary, item.body) if t)
    return classify_text(item.title, text, include_childrens_homes=include_childrens_homes)


def classify_text(
    title: str, text: str, *, include_childrens_homes: bool = False
) -> Classification:
    """Relevance, report type and judgement of a story, title first."""
    title, text = _clean(title), _clean(text)
    both = f"{title}\n{text}"
    folded = gate_text(both)
    relevant, reasons = _relevance(both, folded, include_childrens_homes)
    report_type = _report_type(title, text, folded)
    if report_type is None and relevant:
        report_type = "other"
    judgement = None
    if report_type == "inspection":
        judgement = _judgement(title, text, history="since" in folded)
    return Classification(relevant, report_type, judgement, tuple(reasons))


def monitoring_ordinal(text: str) -> int | None:
    """The ordinal of a monitoring visit ("fourth monitoring visit", "5th monitoring visit")."""
    found = MONITORING_ORDINAL.search(_clean(text))
    if found is None:
        return None
    word = found.group(1).lower()
    return ORDINALS.get(word) or int(re.sub(r"\D", "", word))


def _mentions_any(folded: str, words: Iterable[str]) -> bool:
    """Whether gate text contains any of the words (plain substring tests, no regex)."""
    return any(map(folded.__contains__, words))


def _clean(text: str) -> str:
    text = fold_quotes(text or "")
    if "  " in text or "\t" in text or "\u00a0" in text:
        return _BLANKS.sub(" ", text)
    return text


def _count(pattern: re.Pattern[str], text: str) -> int:
    return len(pattern.findall(text))


def _ofsted_context(text: str) -> bool:
    if OFSTED.search(text) or INSPECTOR_VISIT.search(text):
        return True
    return bool(OFSTED_GRADES.search(text)) and not OTHER_INSPECTORATE.search(text)


def _relevance(text: str, folded: str, include_homes: bool) -> tuple[bool, list[str]]:
    if not (_mentions_any(folded, OFSTED_WORDS) and _ofsted_context(text)):
        return False, ["no Ofsted context"]
    services = _count(CHILDRENS_SERVICES, text)
    homes = _count(CHILDRENS_HOME, text) if "home" in folded else 0
    if services == 0 and not (include_homes and homes):
        return False, ["no children's services context"]
    reasons = [f"children's services mentions={services}"]
    schools = _count(SCHOOL, text) if _mentions_any(folded, SCHOOL_WORDS) else 0
    if schools > services + (homes if include_homes else 0) and not AREA_SEND_ONLY.search(text):
        return False, [*reasons, f"school story (school mentions={schools})"]
    if homes and homes >= services and not include_homes:
        return False, [*reasons, f"children's home story (home mentions={homes})"]
    return True, reasons


def _report_type(title: str, text: str, folded: str) -> str | None:
    """Title's specific wording, then the title's inspection wording, then the text's, line by
    line (a line's specific wording beats its inspection wording wherever each stands)."""
    if not _mentions_any(folded, TYPE_WORDS):
        return None
    history = "since" in folded
    parts = (title, *text.split("\n"))
    for part in parts:
        found = STRONG_TYPE.search(part)
        if found is not None:
            return found.lastgroup
        if INSPECTION_STRONG.search(_without_history(part, history)):
            return "inspection"
    weak = "\n".join(_without_history(p, history) for p in parts)
    return "inspection" if INSPECTION_WEAK.search(weak) else None


def _without_history(text: str, history: bool) -> str:
    """The text with "since … judged inadequate" clauses blanked (offsets unchanged)."""
    if not history:
        return text
    return HISTORY.sub(lambda m: " " * (m.end() - m.start()), text)


def _judgement(title: str, text: str, *, history: bool) -> str | None:
    for part in (title, *text.split("\n")):
        for grade in _grades(_without_history(part, history)):
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
