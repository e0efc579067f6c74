"""Which watched councils an item names, with the text that shows it and why.

A council is named by its name, an alias, its children's trust, a town or short form from the
register's place data, a `[watchlist] aliases` entry, or, on a council's or trust's own newsroom,
by the source itself. A name several councils share ("Kingston": upon Thames or upon Hull;
"Achieving for Children": three councils) counts only for the council the rest of the story or the
source points to, and is never guessed. Collision rules (clubs, papers, police forces, phrases)
live in collisions.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from scraper.judge.collisions import NOT_FOLLOWED_BY, accepted, rules_for
from scraper.judge.councils import Register, load_register
from scraper.judge.resolve import Hit, Term, resolve
from scraper.judge.textnorm import fold_text
from scraper.models import Council, CouncilMatch, Item

__all__ = ["NOT_FOLLOWED_BY", "Matcher", "term_pattern"]

log = logging.getLogger(__name__)

_ACRONYM = re.compile(r"^(?=.*[A-Z].*[A-Z])[A-Za-z&]{2,7}$")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|&")
_SEP = r"[\s,\-–]+"
# "READ MORE: Reading surgery…" lines advertise other stories; names there are not this story's.
_LINK_LINE = re.compile(
    r"^[ \t]*(?:READ MORE|Read more|Related|See also|Also read|More on this)\b[^\n]*$", re.M
)


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


def _is_phrase(body: str, council: Council) -> bool:
    """A trust name made only of ordinary words ("Together for Children"), no place in it."""
    if _ACRONYM.match(body):
        return False
    places = set(fold_text(f"{council.name} {council.short_name}").split()) - {"council", "of"}
    return not places & set(fold_text(body).split())


class Matcher:
    """Finds watched councils in item text; patterns are compiled once per watchlist."""

    def __init__(
        self,
        watched: Sequence[Council],
        register: Register | None = None,
        *,
        aliases: Mapping[str, Council] | None = None,
    ) -> None:
        self._watched = tuple(watched)
        self._register = register if register is not None else load_register()
        self._surfaces: dict[str, str] = {}  # regex -> folded key
        self._initials: dict[str, str] = {}  # regex -> the letter it starts with ("" unknown)
        self._owners: dict[str, list[Council]] = {}
        self._places: dict[str, str | None] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._phrases: set[str] = set()
        self._shared: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        for council in self._watched:
            self._add_watched(council)
        for name, council in (aliases or {}).items():
            self._add_alias(name, council)
        self._add_shared_places()
        self._add_containing_names()
        self._terms = {key: self._term(key) for key in set(self._surfaces.values())}
        self._pattern = _names_pattern(self._surfaces, self._initials)
        log.debug("matcher built watched=%d terms=%d", len(self._watched), len(self._terms))

    @property
    def watched(self) -> tuple[Council, ...]:
        return self._watched

    def _add(self, name: str, place: str | None) -> str:
        key = fold_text(name)
        pattern = term_pattern(name)
        self._surfaces.setdefault(pattern, key)
        self._initials.setdefault(pattern, _initial(name))
        self._places.setdefault(key, place)
        return key

    def _own(self, key: str, council: Council) -> None:
        owners = self._owners.setdefault(key, [])
        if council not in owners:
            owners.append(council)

    def _add_watched(self, council: Council) -> None:
        for name in _names(council):
            is_body = name in council.delivery_bodies
            sharers = self._register.lookup_all(name) if is_body else ()
            key = self._add(name, None if len(sharers) > 1 else council.short_name)
            self._own(key, council)
            if is_body and _is_phrase(name, council):
                self._phrases.add(key)
            if len(sharers) > 1:
                self._members[key] = frozenset(c.short_name for c in sharers)
                for sharer in sharers:  # their own names decide whom the body means
                    for own in _names(sharer, bodies=False):
                        self._add(own, sharer.short_name)

    def _add_alias(self, name: str, council: Council) -> None:
        """A `[watchlist] aliases` name: reports its council when watched, else only places it."""
        key = self._add(name, council.short_name)
        if council in self._watched:
            self._own(key, council)

    def _add_shared_places(self) -> None:
        """Names several councils share: a term that reports nothing by itself, plus the other
        candidates' own names, so that naming one of them in the story decides."""
        watched = {c.short_name for c in self._watched}
        for name, candidates in self._register.shared_names.items():
            if not watched & {council for council, _ in candidates}:
                continue
            self._shared[self._add(name, None)] = candidates
            for council, _ in candidates:
                found = self._register.lookup(council)
                for own in _names(found, bodies=False) if found else ():
                    self._add(own, council)

    def _add_containing_names(self) -> None:
        """Other councils whose names contain a watched name ("North Somerset" holds
        "Somerset") join the pattern so the longer name wins; they report nothing."""
        watched_keys = set(self._owners)
        for council in self._register.all():
            for name in _names(council):
                key = fold_text(name)
                if key not in self._places and any(_contains_words(key, w) for w in watched_keys):
                    self._add(name, council.short_name)

    def _term(self, key: str) -> Term:
        return Term(
            key=key,
            councils=tuple(self._owners.get(key, ())),
            place=self._places.get(key),
            members=self._members.get(key, frozenset()),
            candidates=self._shared.get(key, ()),
            rules=rules_for(key, phrase=key in self._phrases),
        )

    def match_text(
        self, text: str, where: str, *, context: Sequence[Council] = (), explain: bool = False
    ) -> CouncilMatch:
        """Watched councils named in one piece of text, in order of first mention."""
        return self._decide([(where, text)], context, explain)

    def match(
        self, item: Item, *, context: Sequence[Council] = (), explain: bool = False
    ) -> CouncilMatch:
        """Watched councils an item names, main one first (title hits, then most mentioned).

        `context` is the source's own councils (a council's or trust's newsroom): they resolve
        shared names, and they are the item's councils when the text names no other council.
        `explain` names the unwatched councils in a no-match reason; it costs a scan for every
        council in the register, so a poll asks only when a source's context needs it.
        """
        fields = [("title", item.title), ("summary", item.summary), ("body", item.body)]
        return self._decide([(w, t or "") for w, t in fields], context, explain)

    def _decide(
        self, fields: list[tuple[str, str]], context: Sequence[Council], explain: bool
    ) -> CouncilMatch:
        hits = [hit for where, text in fields for hit in self._scan(text, where)]
        others = self._unwatched if explain or context else _nobody
        return resolve(hits, fields, self._watched, context, others)

    def _scan(self, text: str, where: str) -> Iterable[Hit]:
        skipped: list[tuple[int, int]] | None = None  # found only once a name is
        for found in self._pattern.finditer(text):
            if skipped is None:
                skipped = [m.span() for m in _LINK_LINE.finditer(text)]
            if any(start <= found.start() < end for start, end in skipped):
                continue
            term = self._terms.get(_fold_name(found.group()))
            if term is not None and accepted(term.rules, text, found):
                yield Hit(term, found.group(), where, found.start())

    def _unwatched(self, fields: list[tuple[str, str]]) -> tuple[str, ...]:
        """Councils off the watchlist the text names (only asked when no watched one is)."""
        others = _all_councils_matcher(self._register)
        if others is self:
            return ()
        found = others._decide(fields, (), False)
        return tuple(c.short_name for c in found.councils if c not in self._watched)


def _nobody(_fields: list[tuple[str, str]]) -> tuple[str, ...]:
    """No scan for unwatched councils (the caller needs no reason for a miss)."""
    return ()


@lru_cache(maxsize=2)
def _all_councils_matcher(register: Register) -> Matcher:
    return Matcher(register.all(), register)


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
