"""When a council's name in a story is not the council: the collision rules the matcher applies.

Council names collide with English ("Reading"), with football clubs ("Hull City"), with US towns
("Reading, Pa."), with newspapers ("Bournemouth Echo"), with police forces, probation areas and
health bodies named after the county ("Kent Police", "Kent, Surrey and Sussex Community
Rehabilitation Company") and, for children's trusts, with ordinary phrases ("come together for
children"). The rules live in tables so the news sources can grow them without touching code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Place names that are also English words: they count only when capitalised as a proper noun.
COMMON_WORD_NAMES = frozenset(
    {"reading", "hull", "bury", "slough", "derby", "sutton", "stoke", "bath", "barking"}
)

# Text right after a name that shows it is something else: a club, a paper, a US town.
NOT_FOLLOWED_BY: dict[str, tuple[str, ...]] = {
    "reading": (
        r",?\s*(?:Pennsylvania|Penn\b|Pa\b\.?|PA\b|Massachusetts|Mass\b\.?|MA\b|Ohio|Michigan)",
        r"\s+(?:F\.?C\b|Football\s+Club|Festival|Chronicle|Rooms?\b|Recovery|Agency|Ages?\b)",
        r"\s+(?:Week|Lists?\b|Scheme|Challenge|Comprehension|Glasses|Lamp|Group)",
        r"\s+(?:Eagle|Evening\s+Post|Post\b|Today\b)",  # publishers, not the council
        r"\s+(?:and\s+(?:writing|maths|spelling)|aloud)\b",
    ),
    "hull": (
        r"\s+(?:FC|KR|Kingston\s+Rovers|Truck|Daily\s+Mail|Minster)\b",
        r",?\s*(?:Quebec|Massachusetts|Gatineau)",
    ),
    "hull city": (r"(?!\s+council\b)",),  # without "Council" it is the football club
    "st helens": (r",?\s*(?:Washington|Oregon)\b",),
    "newcastle": (r"[\s-]+under[\s-]+Lyme", r"\s+United"),
    "bath": (r"\s+(?:Spa|Abbey|Rugby)\b",),
    "windsor": (r"\s+(?:Castle|Great\s+Park)\b",),
}

# Text right before a name that shows it is something else.
NOT_PRECEDED_BY: dict[str, tuple[str, ...]] = {
    "reading": (
        r"\b(?:worth|further|recommended|essential|required|light|bedtime|close|guided|shared|"
        r"holiday|summer|suggested|background|additional|happy|good|great|more)\s+$",
    ),
    "st helens": (r"\b(?:Mount|Mt\.?)\s+$",),
    "together for children": (
        r"\b(?:come|comes|coming|came|work|works|working|worked|pull|pulling|pulled|get|getting|"
        r"stand|standing|bring|bringing|brought|join|joining|band|banding|all|act|acting)\s+$",
    ),
    "bournemouth": (r"\bAFC\s+$",),
}

# After these words a capitalised common-word name is the verb or noun, not the place
# ("Reading the report, inspectors found…"), unless a place preposition comes first.
VERB_FOLLOWERS: dict[str, str] = {
    "reading": (
        r"\s+(?:the|this|that|these|those|a|an|through|about|between|his|her|their|our|your|"
        r"my|its|it|them|up|over|out|into|books?|materials?|skills|levels?|more)\b"
    ),
}

# Any council name followed by one of these (after other places in a list: "Kent, Surrey and
# Sussex Community Rehabilitation Company") names another body: a force, a health body, a club,
# a paper, a university.
OTHER_BODY_AFTER = re.compile(
    r"(?:(?:\s*,\s*[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)*\s+(?:and|&)\s+[A-Z][\w'-]+"
    r"(?:\s+(?:of\s+)?[A-Z][\w'-]+){0,2}?)?(?:\s+[A-Z][\w'-]+)?\s+"
    r"(?:(?i:Police|Constabulary|Fire(?:\s+and\s+Rescue)?|NHS|Integrated\s+Care|ICB|CCG|"
    r"Clinical\s+Commissioning|Health(?:care)?\s+(?:NHS|Foundation|Trust|Partnership|Board)|"
    r"Hospitals?|Infirmary|Ambulance|Air\s+Ambulance|Probation|Community\s+Rehabilitation|CRC\b|"
    r"Crown\s+Court|Magistrates)|Chamber\s+of\s+Commerce|Cricket|County\s+Cricket|CCC\b|"
    r"Wildlife\s+Trust|Diocese|Cathedral|Airport|University|Echo|Gazette|Herald|Chronicle|"
    r"Telegraph|Argus|Mercury|Advertiser|Observer|Messenger|Live\b|Online\b|Evening\s+\w+|"
    r"Daily\s+\w+|Rugby|RFC|AFC|FC\b|Football\s+Club|Town\s+FC|United\b|Rovers|Albion|"
    r"Athletic|Wanderers|North\s+End|City\b(?!\s+(?:Council|of)\b)|and\s+Borders|Heartlands|Partnership\s+NHS)",
)
# Regions that are no council: a list naming one is a police, probation or health area.
NON_COUNCIL_AREA = re.compile(
    r"^(?:\s*,\s*[A-Z][\w'-]+)*\s*(?:,|and|&)\s*(?:Sussex|Berkshire|Thames\s+Valley|Avon|"
    r"Humberside|Merseyside|Mercia|Cleveland|Yorkshire|Cheshire|Bedfordshire)\b(?!\s+Council)"
)
OTHER_BODY_BEFORE = re.compile(
    r"\b(?:Police\s+and\s+Crime\s+Commissioner|PCC|Chief\s+Constable|High\s+Sheriff|"
    r"Lord[- ]Lieutenant|Bishop|Diocese|University)\s+(?:for|of)\s+(?:the\s+)?$"
)
_PLACE_PREPOSITION = re.compile(
    r"\b(?:in|at|from|to|across|around|near|outside|of|for|by|with|and|across)\s+$", re.I
)
_COUNCIL_AFTER = re.compile(r"\s+(?:BOROUGH\s+)?COUNCIL\b|['’]S\s+CHILDREN")
_CAPITALISED_WORD = re.compile(r"\b[a-z][a-z]{3,}")
_COUNCIL_NEXT = re.compile(r"\s+Council\b", re.I)
_KIND_WORD = re.compile(r"\b(?:council|borough|county|city|district)\b", re.I)


@dataclass(frozen=True, slots=True)
class Rules:
    """The collision rules for one surface name."""

    common_word: bool = False  # counts only as a capitalised proper noun
    phrase: bool = False  # a trust name made of ordinary words: must be written as a name
    not_after: tuple[re.Pattern[str], ...] = ()
    not_before: tuple[re.Pattern[str], ...] = ()
    verb_after: re.Pattern[str] | None = None


def rules_for(key: str, *, phrase: bool = False) -> Rules:
    """The rules for a folded name (`phrase` for a trust name made of ordinary words)."""
    verb = VERB_FOLLOWERS.get(key)
    return Rules(
        common_word=key in COMMON_WORD_NAMES,
        phrase=phrase,
        not_after=tuple(re.compile(p, re.I) for p in NOT_FOLLOWED_BY.get(key, ())),
        not_before=tuple(re.compile(p, re.I) for p in NOT_PRECEDED_BY.get(key, ())),
        verb_after=re.compile(verb, re.I) if verb else None,
    )


def accepted(rules: Rules, text: str, found: re.Match[str]) -> bool:
    """Whether a pattern hit really names the place, by the name's collision rules."""
    # Bounded windows: every rule looks at most this far, and slicing the whole remainder
    # for each of many hits would cost a copy of the story per hit.
    before, after = (
        text[max(0, found.start() - 60) : found.start()],
        text[found.end() : found.end() + 160],
    )
    if rules.not_after and any(p.match(after) for p in rules.not_after):
        return False
    if rules.not_before and any(p.search(before[-40:]) for p in rules.not_before):
        return False
    written = found.group()
    if not _KIND_WORD.search(written) and _other_body(before, after):
        return False
    if written.endswith(" City") and not _COUNCIL_NEXT.match(after):
        return False  # "Birmingham City" without "Council" is the football club
    if rules.phrase and _CAPITALISED_WORD.search(found.group().replace(" for ", " ")):
        return False
    return not rules.common_word or _proper_noun(rules, found.group(), before, after)


def _other_body(before: str, after: str) -> bool:
    """A bare place name that is part of another body's name or area ("Kent Police")."""
    # Another body's name goes on after a space or a list comma ("Kent Police", "Kent, Surrey
    # and Sussex …"), or before it with "for"/"of" ("Chief Constable of Kent").
    if after[:1] in {" ", ","} and (
        OTHER_BODY_AFTER.match(after[:120]) or NON_COUNCIL_AREA.match(after[:80])
    ):
        return True
    return before.endswith((" for ", " of ", " the ")) and bool(
        OTHER_BODY_BEFORE.search(before[-50:])
    )


def _proper_noun(rules: Rules, written: str, before: str, after: str) -> bool:
    """A common-word name counts only as a capitalised proper noun, not as shouting or a verb."""
    if not written[:1].isupper():
        return False
    if written.isupper() and len(written) > 1:
        return _COUNCIL_AFTER.match(after) is not None
    if rules.verb_after is not None and rules.verb_after.match(after):
        return _PLACE_PREPOSITION.search(before[-30:]) is not None
    return True
