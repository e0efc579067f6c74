"""What an item says: is it about an Ofsted visit to a council's children's services, which kind
of visit, and what judgement, with the words that decided each answer.

The vocabulary lives in vocab.py and the "mentions Ofsted but reports no visit" rules in
background.py; this module combines them. The title is trusted before the body because headlines
state the news while bodies recount history.

Most feed items are other news, and this runs on every one, so two cheap gates come first: a
story with none of the words the Ofsted patterns need is not relevant, and one with none of the
words the type patterns need has no type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from scraper.judge.background import background_reason, stated_grades
from scraper.judge.textnorm import fold_quotes, gate_text
from scraper.judge.vocab import (
    AREA_SEND_ONLY,
    CHILDRENS_HOME,
    CHILDRENS_SERVICES,
    HISTORY,
    INSPECTION_STRONG,
    INSPECTION_WEAK,
    INSPECTION_WORD,
    INSPECTOR_VISIT,
    MONITORING_ORDINAL,
    OFSTED,
    OFSTED_GRADES,
    OFSTED_WORDS,
    ORDINALS,
    OTHER_INSPECTORATE,
    SCHOOL,
    SCHOOL_WORDS,
    STRONG_TYPE,
    TYPE_WORDS,
    strong_type_name,
)
from scraper.models import Classification, Item

__all__ = [
    "CHILDRENS_HOME",
    "HISTORY",
    "INSPECTION_STRONG",
    "INSPECTION_WEAK",
    "INSPECTOR_VISIT",
    "OFSTED",
    "OFSTED_GRADES",
    "OFSTED_WORDS",
    "SCHOOL",
    "SCHOOL_WORDS",
    "STRONG_TYPE",
    "TYPE_WORDS",
    "classify",
    "classify_text",
    "monitoring_ordinal",
]

NO_OFSTED = "no Ofsted context"
NO_SERVICES = "no children's services context"
_BLANKS = re.compile(r"[ \t\u00a0]+")


def classify(item: Item, *, include_childrens_homes: bool = False) -> Classification:
    """Classify a feed item from its title, summary and body."""
    summary, body = _clean(item.summary), _clean(item.body)
    text = "\n".join(t for t in (summary, body) if t)
    story = _Story(_clean(item.title), text, len(summary) if summary else 0)
    return _classify(story, include_childrens_homes)


def classify_text(
    title: str, text: str, *, include_childrens_homes: bool = False, summary_len: int = -1
) -> Classification:
    """Relevance, report type and judgement of a story, title first, each with its reason.

    `summary_len` is where the body starts in `text` (the summary comes first), so a reason can
    name the field; -1 when the caller does not know.
    """
    return _classify(_Story(_clean(title), _clean(text), summary_len), include_childrens_homes)


def _classify(story: _Story, include_childrens_homes: bool) -> Classification:
    folded = gate_text(story.both)
    relevant, reasons = _relevance(story, folded, include_childrens_homes)
    report_type, type_reason = _report_type(story, folded)
    if report_type is None and relevant:
        report_type, type_reason = "other", "type other: no specific visit wording"
    judgement, grade_reason = None, None
    if report_type == "inspection":
        judgement, grade_reason = _judgement(story, history="since" in folded)
    if relevant:
        reasons += [r for r in (type_reason, grade_reason) if r]
    return Classification(relevant, report_type, judgement, tuple(reasons))


def monitoring_ordinal(text: str) -> int | None:
    """The ordinal of a monitoring visit ("fourth monitoring visit", "5th monitoring visit")."""
    found = MONITORING_ORDINAL.search(_clean(text))
    if found is None:
        return None
    word = found.group(1).lower()
    return ORDINALS.get(word) or int(re.sub(r"\D", "", word))


class _Story:
    """A cleaned title and text, and which field an offset in the text falls in."""

    __slots__ = ("both", "summary_len", "text", "title")

    def __init__(self, title: str, text: str, summary_len: int) -> None:
        self.title, self.text, self.summary_len = title, text, summary_len
        self.both = f"{title}\n{text}"

    def where(self, offset: int) -> str:
        """The field an offset in the text falls in."""
        if self.summary_len < 0:
            return "text"
        return "summary" if offset < self.summary_len else "body"

    def where_in_both(self, offset: int) -> str:
        """The field an offset in `both` (title, newline, text) falls in."""
        if offset < len(self.title):
            return "title"
        return self.where(offset - len(self.title) - 1)

    def first(self, pattern: re.Pattern[str]) -> str | None:
        """`"words" in field` for the first match, title first; None when nothing matches."""
        found = pattern.search(self.both)
        if found is None:
            return None
        return f'"{found.group()}" in {self.where_in_both(found.start())}'


def _mentions_any(folded: str, words: Iterable[str]) -> bool:
    """Whether gate text contains any of the words (plain substring tests, no regex)."""
    return any(map(folded.__contains__, words))


def _clean(text: str) -> str:
    text = fold_quotes(text or "")
    if "  " in text or "\t" in text or "\u00a0" in text:
        return _BLANKS.sub(" ", text)
    return text


def _ofsted_evidence(story: _Story) -> str | None:
    """Where the story names Ofsted, its inspectors or, failing those, an Ofsted grade."""
    found = story.first(OFSTED) or story.first(INSPECTOR_VISIT)
    if found is not None:
        return found
    both = story.both
    if OFSTED_GRADES.search(both) and not OTHER_INSPECTORATE.search(both):
        return story.first(OFSTED_GRADES)
    return None


def _relevance(story: _Story, folded: str, include_homes: bool) -> tuple[bool, list[str]]:
    ofsted = _ofsted_evidence(story) if _mentions_any(folded, OFSTED_WORDS) else None
    if ofsted is None:
        return False, [NO_OFSTED]
    both = story.both
    first = CHILDRENS_SERVICES.search(both)
    # Counting every mention matters only against school or home mentions; most stories have none.
    counted = first is not None and ("home" in folded or _mentions_any(folded, SCHOOL_WORDS))
    services = len(CHILDRENS_SERVICES.findall(both)) if counted else int(first is not None)
    rejected = _not_services(both, folded, services, include_homes)
    rejected = rejected or background_reason(story.title, story.text)
    if rejected is not None:
        return False, [rejected]
    if first is not None:
        where = f'"{first.group()}" in {story.where_in_both(first.start())}'
    else:
        where = story.first(CHILDRENS_HOME) or "children's homes"
    count = f" (mentions={services})" if counted else ""
    return True, [f"Ofsted: {ofsted}", f"children's services: {where}{count}"]


def _not_services(both: str, folded: str, services: int, include_homes: bool) -> str | None:
    """Why a story with Ofsted wording is not about children's services, or None."""
    homes = len(CHILDRENS_HOME.findall(both)) if "home" in folded else 0
    if services == 0 and not (include_homes and homes):
        return NO_SERVICES
    schools = len(SCHOOL.findall(both)) if _mentions_any(folded, SCHOOL_WORDS) else 0
    if schools > services + (homes if include_homes else 0) and not AREA_SEND_ONLY.search(both):
        return f"school story (school mentions={schools}, children's services={services})"
    if homes and homes >= services and not include_homes:
        return f"children's home story (home mentions={homes})"
    return None


def _report_type(story: _Story, folded: str) -> tuple[str | None, str | None]:
    """Title's specific wording, then the title's inspection wording, then the text's, line by
    line (a line's specific wording beats its inspection wording wherever each stands)."""
    if not _mentions_any(folded, TYPE_WORDS):
        return None, None
    plain = _without_history(story.both, "since" in folded)
    start = 0
    while start <= len(plain):  # line by line, searched in place (no copies)
        end = plain.find("\n", start)
        end = len(plain) if end < 0 else end
        found = STRONG_TYPE.search(story.both, start, end)
        if found is not None:
            where = story.where_in_both(found.start())
            name = strong_type_name(found)
            return name, f'type {name}: "{found.group()}" in {where}'
        found = INSPECTION_STRONG.search(plain, start, end)
        if found is not None:
            break
        start = end + 1
    found = found or INSPECTION_WORD.search(plain) or INSPECTION_WEAK.search(plain)
    if found is None:
        return None, None
    where = story.where_in_both(found.start())
    return "inspection", f'type inspection: "{found.group()}" in {where}'


def _without_history(text: str, history: bool) -> str:
    """The text with "since … judged inadequate" clauses blanked (offsets unchanged)."""
    if not history:
        return text
    return HISTORY.sub(lambda m: " " * (m.end() - m.start()), text)


def _judgement(story: _Story, *, history: bool) -> tuple[str | None, str | None]:
    for grade, words, start in stated_grades(_without_history(story.both, history)):
        return grade, f'judgement {grade}: "{words}" in {story.where_in_both(start)}'
    return None, None
