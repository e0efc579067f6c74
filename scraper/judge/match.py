"""Which watched councils an item names, with the text that shows it.

Council names collide with English ("Reading"), with football clubs ("Hull City"), with US towns
("Reading, Pa.") and with each other ("Somerset" inside "North Somerset"). The rules for those
collisions live in the tables below, so the news sources can grow them without touching code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scraper.judge.councils import Register, load_register
from scraper.judge.textnorm import fold_text
from scraper.models import Council, CouncilMatch, Evidence, Item

log = logging.getLogger(__name__)

# Place names that are also English words: they count only when capitalised as a proper noun.
COMMON_WORD_NAMES = frozenset({"reading", "hull", "bury", "slough", "derby", "sutton", "stoke"})

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
}

# Text right before a name that shows it is something else.
NOT_PRECEDED_BY: dict[str, tuple[str, ...]] = {
    "reading": (
        r"\b(?:worth|further|recommended|essential|required|light|bedtime|close|guided|shared|"
        r"holiday|summer|suggested|background|additional|happy|good|great|more)\s+$",
    ),
    "st helens": (r"\b(?:Mount|Mt\.?)\s+$",),
}

# After these words a capitalised common-word name is the verb or noun, not the place
# ("Reading the report, inspectors found…"), unless a place preposition comes first.
VERB_FOLLOWERS: dict[str, str] = {
    "reading": (
        r"\s+(?:the|this|that|these|those|a|an|through|about|between|his|her|their|our|your|"
        r"my|its|it|them|up|over|out|into|books?|materials?|skills|levels?|more)\b"
    ),
}
# Bare names that, next to a shared delivery body, show which sharer the story means. They are
# too ambiguous to report on their own ("Kingston" is also Kingston upon Hull).
SIBLING_HINTS: dict[str, tuple[str, ...]] = {
    "Kingston upon Thames": ("Kingston",),
    "Richmond upon Thames": ("Richmond",),
    "Windsor and Maidenhead": ("Windsor", "Maidenhead"),
}
_PLACE_PREPOSITION = re.compile(
    r"\b(?:in|at|from|to|across|around|near|outside|of|for|by|with|and|across)\s+$", re.I
)
_COUNCIL_AFTER = re.compile(r"\s+(?:BOROUGH\s+)?COUNCIL\b|['’]S\s+CHILDREN")
_ACRONYM = re.compile(r"^(?=.*[A-Z].*[A-Z])[A-Za-z&]{2,7}$")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|&")
_SEP = r"[\s,\-–]+"
# "READ MORE: Reading surgery…" lines advertise other stories; names there are not this story's.
_LINK_LINE = re.compile(
    r"^[ \t]*(?:READ MORE|Read more|Related|See also|Also read|More on this)\b[^\n]*$", re.M
)
_WHERE_BASE = {"title": 0, "summary": 1_000_000, "body": 2_000_000}


@dataclass(frozen=True, slots=True)
class _Term:
    """One surface name, the watched councils it denotes, and its collision rules."""

    key: str
    councils: tuple[Council, ...]  # watched councils it reports; () for context-only names
    place: str | None  # the one council it names directly (None for a shared delivery body)
    members: frozenset[str]  # every council sharing this delivery body
    common_word: bool
    not_after: tuple[re.Pattern[str], ...]
    not_before: tuple[re.Pattern[str], ...]
    verb_after: re.Pattern[str] | None


_Hit = tuple[_Term, re.Match[str], str]


def term_pattern(name: str) -> str:
    """A regex for a name that tolerates "&"/"and", "St."/"St", hyphens, commas, curly quotes."""
    if _ACRONYM.match(name):
        return f"(?-i:{re.escape(name)})"
    parts: list[str] = []
    for token in _TOKEN.findall(name):
        if token.casefold() in {"and", "&"}:
            parts.append("(?:and|&)")
        elif token.casefold() == "st":
            parts.append(r"(?:St\.?|Saint)")
        else:
            parts.append(re.sub("['’]", "['’]", re.escape(token)))
    return _SEP.join(parts)


def _names(council: Council, *, bodies: bool = True) -> tuple[str, ...]:
    own = (council.name, council.short_name, *council.aliases)
    if bodies:
        return (*own, *council.delivery_bodies)
    return tuple(n for n in own if n not in council.delivery_bodies)


def _compile_all(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.I) for p in patterns)


class Matcher:
    """Finds watched councils in item text; patterns are compiled once per watchlist."""

    def __init__(self, watched: Sequence[Council], register: Register | None = None) -> None:
        self._watched = tuple(watched)
        reg = register if register is not None else load_register()
        self._surfaces: dict[str, str] = {}  # regex -> folded key
        self._initials: dict[str, str] = {}  # regex -> the letter it starts with ("" unknown)
        self._owners: dict[str, list[Council]] = {}
        self._places: dict[str, str | None] = {}
        self._members: dict[str, frozenset[str]] = {}
        for council in self._watched:
            self._add_watched(council, reg)
        watched_keys = set(self._owners)
        # Other councils whose names contain a watched name ("North Somerset" holds "Somerset")
        # join the pattern so the longer name wins; they report nothing.
        for council in reg.all():
            for name in _names(council):
                key = fold_text(name)
                if key not in self._places and any(_contains_words(key, w) for w in watched_keys):
                    self._add(name, council.short_name)
        self._terms = {key: self._term(key) for key in set(self._surfaces.values())}
        self._pattern = _names_pattern(self._surfaces, self._initials)
        log.debug("matcher built watched=%d terms=%d", len(self._watched), len(self._terms))

    def _add(self, name: str, place: str | None) -> str:
        key = fold_text(name)
        pattern = term_pattern(name)
        self._surfaces.setdefault(pattern, key)
        self._initials.setdefault(pattern, _initial(name))
        self._places.setdefault(key, place)
        return key

    def _add_watched(self, council: Council, reg: Register) -> None:
        for name in _names(council):
            sharers = reg.lookup_all(name) if name in council.delivery_bodies else ()
            key = self._add(name, None if len(sharers) > 1 else council.short_name)
            owners = self._owners.setdefault(key, [])
            if council not in owners:
                owners.append(council)
            if len(sharers) > 1:
                self._members[key] = frozenset(c.short_name for c in sharers)
                for sharer in sharers:  # their own names decide whom the body means
                    for own in (
                        *_names(sharer, bodies=False),
                        *SIBLING_HINTS.get(sharer.short_name, ()),
                    ):
                        self._add(own, sharer.short_name)

    def _term(self, key: str) -> _Term:
        verb = VERB_FOLLOWERS.get(key)
        return _Term(
            key=key,
            councils=tuple(self._owners.get(key, ())),
            place=self._places.get(key),
            members=self._members.get(key, frozenset()),
            common_word=key in COMMON_WORD_NAMES,
            not_after=_compile_all(NOT_FOLLOWED_BY.get(key, ())),
            not_before=_compile_all(NOT_PRECEDED_BY.get(key, ())),
            verb_after=re.compile(verb, re.I) if verb else None,
        )

    def match_text(self, text: str, where: str) -> CouncilMatch:
        """Watched councils named in one piece of text, in order of first mention."""
        return _summarise(self._evidence(list(self._scan(text, where))), self._watched)

    def match(self, item: Item) -> CouncilMatch:
        """Watched councils an item names, main one first (title hits, then most mentioned)."""
        hits: list[_Hit] = []
        for where, text in (("title", item.title), ("summary", item.summary), ("body", item.body)):
            hits.extend(self._scan(text or "", where))
        return _summarise(self._evidence(hits), self._watched)

    def _scan(self, text: str, where: str) -> Iterable[_Hit]:
        skipped: list[tuple[int, int]] | None = None  # found only once a name is
        for found in self._pattern.finditer(text):
            if skipped is None:
                skipped = [m.span() for m in _LINK_LINE.finditer(text)]
            if any(start <= found.start() < end for start, end in skipped):
                continue
            term = self._terms.get(_fold_name(found.group()))
            if term is not None and _accepted(term, text, found):
                yield term, found, where

    @staticmethod
    def _evidence(hits: list[_Hit]) -> tuple[Evidence, ...]:
        """Evidence per watched council; a shared delivery body means only the sharers named
        elsewhere in the item ("AfC ... Kingston and Richmond"), or all of them if none is."""
        named = {term.place for term, _, _ in hits if term.place}
        evidence: list[Evidence] = []
        for term, found, where in hits:
            councils = term.councils
            if term.members & named:
                councils = tuple(c for c in councils if c.short_name in named)
            evidence.extend(
                Evidence(c.short_name, found.group(), where, found.start()) for c in councils
            )
        return tuple(evidence)


def _initial(name: str) -> str:
    """The letter every match of term_pattern(name) starts with, or "" when it may vary."""
    if _ACRONYM.match(name):
        return name[0].lower()
    found = _TOKEN.search(name)
    first = found.group() if found else ""
    if not first or first.casefold() in {"and", "&"}:
        return ""
    return first[0].lower()


def _names_pattern(surfaces: Iterable[str], initials: dict[str, str]) -> re.Pattern[str]:
    """Every surface name, longest first, in one pattern.

    Names are grouped under a lookahead for their first letter, so at each position the engine
    tries only the names that can start there (alternatives keep their order within a group, and
    groups cannot both match at one position, so the leftmost-longest choice is unchanged).
    """
    ordered = sorted(surfaces, key=len, reverse=True)
    if not ordered:
        return re.compile(r"(?!x)x")
    groups: dict[str, list[str]] = {}
    for pattern in ordered:
        groups.setdefault(initials.get(pattern, ""), []).append(pattern)
    if "" in groups:  # a name of unknown first letter: one plain alternation, as before
        alternation = "|".join(ordered)
        first = ""
    else:
        alternation = "|".join(f"(?={re.escape(c)})(?:{'|'.join(g)})" for c, g in groups.items())
        first = "(?=[" + "".join(re.escape(c) for c in sorted(groups)) + "])"
    return re.compile(rf"{first}(?<![\w&])(?:{alternation})(?![\w&])", re.I)


@lru_cache(maxsize=4096)
def _fold_name(written: str) -> str:
    """fold_text of a matched name; the same few spellings recur in every item."""
    return fold_text(written)


def _contains_words(haystack: str, needle: str) -> bool:
    return haystack != needle and f" {needle} " in f" {haystack} "


def _accepted(term: _Term, text: str, found: re.Match[str]) -> bool:
    """Whether a pattern hit really names the place, by the term's collision rules."""
    before, after = text[: found.start()], text[found.end() :]
    if any(p.match(after) for p in term.not_after):
        return False
    if any(p.search(before[-40:]) for p in term.not_before):
        return False
    return not term.common_word or _proper_noun(term, found.group(), before, after)


def _proper_noun(term: _Term, written: str, before: str, after: str) -> bool:
    """A common-word name counts only as a capitalised proper noun, not as shouting or a verb."""
    if not written[:1].isupper():
        return False
    if written.isupper() and len(written) > 1:
        return _COUNCIL_AFTER.match(after) is not None
    if term.verb_after is not None and term.verb_after.match(after):
        return _PLACE_PREPOSITION.search(before[-30:]) is not None
    return True


def _summarise(evidence: tuple[Evidence, ...], watched: tuple[Council, ...]) -> CouncilMatch:
    by_name = {c.short_name: c for c in watched}
    stats: dict[str, tuple[bool, int, int]] = {}
    for ev in evidence:
        pos = _WHERE_BASE.get(ev.where, 3_000_000) + ev.offset
        in_title, count, first = stats.get(ev.council, (False, 0, pos))
        stats[ev.council] = (in_title or ev.where == "title", count + 1, min(first, pos))
    order = sorted(stats, key=lambda n: (not stats[n][0], -stats[n][1], stats[n][2]))
    return CouncilMatch(councils=tuple(by_name[n] for n in order), evidence=evidence)
