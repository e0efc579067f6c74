"""Stories that mention an Ofsted verdict without reporting a visit.

A DfE improvement notice, a commissioner's report, a job advert ("join our 'good' rated team") or
a budget story ("the council, rated inadequate in 2022, faces a £12m overspend") all carry the
words a visit story does. What tells them apart is what the story is *about*: its headline names
an intervention, a vacancy or money and states no new Ofsted finding, or every Ofsted sentence in
it looks back. Each rule returns the reason it rejects an item, so a skip can say why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from scraper.judge.vocab import (
    GRADE,
    GRADE_DATED,
    GRADE_IN_CONTEXT,
    GRADE_NEGATED,
    INSPECTION_STRONG,
    INSPECTION_WORD,
    INSPECTOR_VISIT,
    OFSTED,
    STRONG_TYPE,
    rx,
)

INTERVENTION_REASON = "DfE intervention, not an Ofsted visit"
ADVERT_REASON = "recruitment or careers item citing a past rating, not an Ofsted visit"
BUDGET_REASON = "budget or policy story recalling an old inspection"
RECALL_REASON = "Ofsted mentioned only as past background"

INTERVENTION = rx(
    r"\bimprovement notices?\b",
    r"\bstatutory (?:direction|intervention|notice)s?\b",
    r"\bdirections? (?:issued|given|lifted|revoked|to (?:the )?\w+ (?:borough |county |city )?"
    r"council)\b",
    r"\bcommissioner(?:'s|s)?\b(?! for children\b)",
    r"\b(?:government|DfE|ministerial|Whitehall) intervention\b",
    r"\b(?:out of|removed from|taken away from|stripped of) (?:the )?(?:council|local authority)"
    r"(?:'s)? control\b",
    r"\bintervention (?:notices?|lifted|ended|ends)\b",
    lead="isdcgwmotr",
)
RECRUITMENT = rx(
    r"\brecruit(?:ing|ment|s)?\b",
    r"\bcareers?\b",
    r"\bjobs?\b",
    r"\bvacanc(?:y|ies)\b",
    r"\bjoin (?:our|the) (?:\w+ )?team\b",
    r"\bwe(?:'re| are) (?:hiring|looking for)\b",
    r"\bsocial workers? wanted\b",
    r"\bwork (?:for|with) us\b",
    lead="rcjvwsj",
)
ADVERT = rx(
    r"\bclosing date\b",
    r"\bapply (?:now|today|online|by)\b",
    r"\bper annum\b",
    r"\bsalary\b",
    r"£\d{2},?\d{3}\b",
    r"\bjob (?:description|reference|ref)\b",
    r"\bjoin (?:our|the) (?:\w+ ){0,2}team\b",
    r"\bwe(?:'re| are) (?:hiring|recruiting)\b",
    r"\bgolden hello\b",
    r"\brelocation package\b",
    r"\bflexible working\b",
    r"\bcaseloads? (?:of|capped|as low)\b",
    lead="capsj£jwgrf",
)
# Every match of ADVERT contains one of these (lower case): a cheap gate before the pattern.
ADVERT_WORDS: tuple[str, ...] = (
    "closing",
    "apply",
    "per annum",
    "salary",
    "£",
    "job",
    "join",
    "we're",
    "we are",
)
ADVERT_WORDS += ("golden", "relocation", "flexible", "caseload")
BUDGET = rx(
    r"\bbudgets?\b",
    r"\bdeficits?\b",
    r"\boverspen(?:d|ding|t)\b",
    r"\bspending\b",
    r"\bsavings\b",
    r"\bcuts?\b",
    r"\bcouncil tax\b",
    r"\bfunding\b",
    r"\bhigh needs\b",
    r"\bsafety valve\b",
    r"\bfinanc(?:es|ial)\b",
    r"£\d",
    r"\b(?:million|billion|bn)\b",
    r"\bconsultation\b",
    r"\bpolicy\b",
    r"\breforms?\b",
    r"\bmanifesto\b",
    r"\belections?\b",
    r"\bschool places\b",
    r"\btransport\b",
    r"\bEHCPs?\b",
    r"\beducation, health and care plans?\b",
    r"\bwaiting (?:lists?|times?)\b",
    r"\bbacklogs?\b",
    r"\b(?:care|placement|agency) costs\b",
    lead="bdoscfh£mprtewa",
)
# Every match of BUDGET contains one of these (lower case): a cheap gate before the pattern.
BUDGET_WORDS: tuple[str, ...] = ("budget", "deficit", "overspen", "spending", "savings", "cut")
BUDGET_WORDS += ("council tax", "funding", "high needs", "safety valve", "financ", "£", "million")
BUDGET_WORDS += ("billion", "bn", "consultation", "policy", "reform", "manifesto", "election")
BUDGET_WORDS += ("school places", "transport", "ehcp", "care plan", "waiting", "backlog", "costs")
# Sentences that look back at a verdict rather than report one.
RECALL = rx(
    r"\b(?:previous|previously|last|most recent|earlier|prior)\s+(?:ofsted\s+)?inspect",
    rf"\b(?:was|were|had been|has been|have been)\s+(?:[\w']+\s+){{0,3}}?(?:rated|judged|graded)"
    rf"\s+(?:as\s+)?['\"]?{GRADE}['\"]?,?\s+(?:in|since|back in)\s+(?:[A-Z][a-z]+\s+)?"
    r"(?:19|20)\d\d\b",
    r"\b(?:rated|judged|graded)\b[^.]{0,60}\b(?:years? ago|last year)\b",
    r"\b(?:rated|judged|graded)\b[^.]{0,80}\b(?:in|since) (?:[A-Z][a-z]+ )?(?:19|20)\d\d\b",
    r"\bwhen (?:it was |they were )?last inspected\b",
    r"\bpreviously (?:been )?(?:rated|judged|graded)\b",
    r"\b(?:last|previous|most recent) (?:ofsted )?(?:rating|judgement|grade)\b",
    lead="plmewhrjg",
)
# Wording that makes an Ofsted sentence today's news even when it also looks back.
NEWS_NOW = rx(
    r"\b(?:found|finds|published|publishes|today|this week|yesterday|latest|new report|letter)\b",
    r"\b(?:visited|this month|last week)\b",
    lead="fptylnvm",
)
_SENTENCE = re.compile(r"[^.!?\n]+")
_CURRENT_GRADE = re.compile(rf"\b(?:now|are|is)\s+(?:now\s+)?['\"]?{GRADE}", re.I)
# A year in a sentence dates what it says: "found systemic failings in 2022" is history.
_DATED = re.compile(r"\b(?:in|since|during) (?:[A-Z][a-z]+ )?(?:19|20)\d\d\b")


def reports_visit(text: str) -> bool:
    """Whether a headline states Ofsted news: the inspectorate, a visit, a type or a result."""
    return bool(
        OFSTED.search(text)
        or INSPECTOR_VISIT.search(text)
        or STRONG_TYPE.search(text)
        or INSPECTION_STRONG.search(text)
        or INSPECTION_WORD.search(text)
        or GRADE_IN_CONTEXT.search(text)
    )


def intervention(title: str, text: str, visit: bool) -> str | None:
    """An improvement notice, direction or commissioner story whose headline reports no visit."""
    found = INTERVENTION.search(title)
    if found and not visit:
        return f'{INTERVENTION_REASON} ("{found.group()}" in title)'
    return None


def advert(title: str, text: str, visit: bool) -> str | None:
    """A job advert or careers page: advert wording, with a recruiting headline or twice over."""
    folded = f"{title}\n{text}".lower()
    markers = len(ADVERT.findall(folded)) if any(map(folded.__contains__, ADVERT_WORDS)) else 0
    recruiting = RECRUITMENT.search(title) is not None
    if (recruiting and markers) or (markers >= 2 and not visit):
        return ADVERT_REASON
    if recruiting and not visit:
        return ADVERT_REASON
    return None


def budget(title: str, text: str, visit: bool) -> str | None:
    """A money or policy headline with no Ofsted news in it."""
    lowered = title.lower()
    found = BUDGET.search(title) if any(map(lowered.__contains__, BUDGET_WORDS)) else None
    if found and not visit and not any(map(_fresh, _sentences(text)[:3])):
        return f'{BUDGET_REASON} ("{found.group()}" in title)'
    return None


def recall_only(title: str, text: str, visit: bool) -> str | None:
    """Every Ofsted sentence looks back, and the headline states no Ofsted news."""
    if visit:
        return None
    sentences = [s for s in _sentences(text) if _about_ofsted(s)]
    if sentences and all(_looks_back(s) for s in sentences):
        return RECALL_REASON
    return None


GRADE_WORD = re.compile(GRADE, re.I)


def _sentences(text: str) -> list[str]:
    return _SENTENCE.findall(text)


def _about_ofsted(sentence: str) -> bool:
    return bool(OFSTED.search(sentence) or GRADE_WORD.search(sentence))


def _looks_back(sentence: str) -> bool:
    """A sentence that recalls a verdict and states no grade of its own."""
    if not RECALL.search(sentence) or _fresh(sentence):
        return False
    return next(iter(stated_grades(sentence)), None) is None


def _fresh(sentence: str) -> bool:
    """An Ofsted sentence that reports news now rather than looking back."""
    if not (_about_ofsted(sentence) and NEWS_NOW.search(sentence)) or _DATED.search(sentence):
        return False
    return not RECALL.search(sentence) or bool(_CURRENT_GRADE.search(sentence))


RULES: tuple[Callable[[str, str, bool], str | None], ...] = (
    intervention,
    advert,
    budget,
    recall_only,
)


def background_reason(title: str, text: str) -> str | None:
    """The first rule that shows the item is not about an Ofsted visit, or None."""
    visit = reports_visit(title)
    for rule in RULES:
        reason = rule(title, text, visit)
        if reason is not None:
            return reason
    return None


def stated_grades(text: str) -> Iterable[tuple[str, str, int]]:
    """Grades the text states as its own news: not negated ("no longer"), not dated."""
    for found in GRADE_IN_CONTEXT.finditer(text):
        word = next(g for g in found.groups() if g)
        start = found.start(found.lastindex or 0)
        before = text[max(0, start - 40) : start].rstrip("'\" ") + " "
        if GRADE_NEGATED.search(before) or GRADE_DATED.match(text, found.end()):
            continue
        yield _grade_name(word), found.group(), found.start()


_RANK_WORDS = {"top": "outstanding", "highest": "outstanding"}
_RANK_WORDS |= {"lowest": "inadequate", "bottom": "inadequate"}


def _grade_name(word: str) -> str:
    lowered = word.lower()
    if "improvement" in lowered:
        return "requires_improvement"
    return _RANK_WORDS.get(lowered, lowered)
