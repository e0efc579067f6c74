"""From name hits to councils: shared names resolved from context, never guessed.

A hit on a name that several councils share ("Kingston"; "Achieving for Children") names one of
them only when the story or its source says which: another of that council's names, its trust,
the source's own councils, or a context word from the register's place data ("Surbiton",
"Humber"). The source's councils also stand in for the text when it names no council at all, as
on a council's own newsroom ("Our children's services rated good").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scraper.judge.collisions import Rules
from scraper.models import Council, CouncilMatch, Evidence

_WHERE_BASE = {"title": 0, "summary": 1_000_000, "body": 2_000_000}
Fields = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Term:
    """One surface name, the watched councils it denotes, and its collision rules."""

    key: str
    councils: tuple[Council, ...]  # watched councils it reports; () for context-only names
    place: str | None  # the one council it names directly (None for a shared name)
    members: frozenset[str]  # every council sharing this delivery body
    candidates: tuple[tuple[str, tuple[str, ...]], ...]  # shared place name: (council, context)
    rules: Rules


@dataclass(frozen=True, slots=True)
class Hit:
    """A name found in one field of an item."""

    term: Term
    text: str  # as written
    where: str
    offset: int


def resolve(
    hits: Sequence[Hit],
    fields: Fields,
    watched: Sequence[Council],
    context: Sequence[Council],
    unwatched: Callable[[Fields], tuple[str, ...]],
) -> CouncilMatch:
    """The watched councils the hits name, with evidence and the reasons for each decision."""
    if not context and not any(h.term.candidates or h.term.members for h in hits):
        plain = [
            Evidence(c.short_name, h.text, h.where, h.offset) for h in hits for c in h.term.councils
        ]
        if plain:  # the common case: plain names, nothing shared, no source context
            return _summarise(plain, watched, ())
    own = {c.short_name for c in context}
    named = {h.term.place for h in hits if h.term.place}
    reasons: list[str] = []
    chosen: dict[int, str] = {}
    unresolved: list[Hit] = []
    for i, hit in enumerate(hits):
        if hit.term.candidates:
            choice, why = _choose(hit, hits, named, own, fields)
            if choice is None:
                unresolved.append(hit)
            else:
                chosen[i] = choice
                reasons.append(f'"{hit.text}" read as {choice}: {why}')
    named |= set(chosen.values())
    evidence = _evidence(hits, chosen, named, own, watched)
    if not evidence:
        evidence, why = _fallback(
            hits,
            fields,
            watched=watched,
            context=context,
            unresolved=unresolved,
            unwatched=unwatched,
        )
        reasons.append(why)
    return _summarise(evidence, watched, tuple(reasons))


def _choose(
    hit: Hit, hits: Sequence[Hit], named: set[str], own: set[str], fields: Fields
) -> tuple[str | None, str]:
    """The one candidate the story or source points to, and what pointed; None if not one."""
    candidates = {council for council, _ in hit.term.candidates}
    bodies = {m for h in hits for m in h.term.members}
    steps = (
        (named & candidates, "the story also names it"),
        (bodies & candidates, "named with its children's trust"),
        (own & candidates, "the source's own council"),
        (_by_context_words(hit, fields), "a place in the story"),
    )
    for found, why in steps:
        if len(found) == 1:
            return next(iter(found)), why
    return None, ""


def _by_context_words(hit: Hit, fields: Fields) -> set[str]:
    text = "\n".join(t for _, t in fields)
    found = set()
    for council, words in hit.term.candidates:
        if words and _words_pattern(words).search(text):
            found.add(council)
    return found


@lru_cache(maxsize=64)
def _words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")


def _evidence(
    hits: Sequence[Hit],
    chosen: dict[int, str],
    named: set[str],
    own: set[str],
    watched: Sequence[Council],
) -> list[Evidence]:
    """Evidence per watched council. A shared delivery body means the sharers named elsewhere
    in the item ("AfC ... Kingston and Richmond"), else the source's own, else all of them."""
    by_name = {c.short_name: c for c in watched}
    evidence: list[Evidence] = []
    for i, hit in enumerate(hits):
        if i in chosen:
            councils: Iterable[Council] = [by_name[chosen[i]]] if chosen[i] in by_name else []
        else:
            councils = hit.term.councils
            for decider in (named, own):
                if hit.term.members & decider:
                    councils = [c for c in councils if c.short_name in decider]
                    break
        evidence.extend(Evidence(c.short_name, hit.text, hit.where, hit.offset) for c in councils)
    return evidence


def _fallback(
    hits: Sequence[Hit],
    fields: Fields,
    *,
    watched: Sequence[Council],
    context: Sequence[Council],
    unresolved: Sequence[Hit],
    unwatched: Callable[[Fields], tuple[str, ...]],
) -> tuple[list[Evidence], str]:
    """No watched council in the text: the source's own councils when the text names no other
    council, else the reason nothing was matched."""
    if unresolved:
        hit = unresolved[0]
        names = " or ".join(sorted(c for c, _ in hit.term.candidates))
        return [], f'ambiguous "{hit.text}" ({names}): nothing in the story says which'
    others = set(unwatched(fields)) | {h.term.place for h in hits if h.term.place}
    others -= {c.short_name for c in context}
    mine = [c for c in context if c in watched]
    if mine and not others:
        return (
            [Evidence(c.short_name, c.short_name, "source", -1) for c in mine],
            "source's own council: the text names no other council",
        )
    if others:
        return [], "council not on the watchlist: " + ", ".join(sorted(others))
    return [], "no council named"


def _summarise(
    evidence: Sequence[Evidence], watched: Sequence[Council], reasons: tuple[str, ...]
) -> CouncilMatch:
    by_name = {c.short_name: c for c in watched}
    stats: dict[str, tuple[bool, int, int]] = {}
    for ev in evidence:
        pos = _WHERE_BASE.get(ev.where, 3_000_000) + ev.offset
        in_title, count, first = stats.get(ev.council, (False, 0, pos))
        stats[ev.council] = (in_title or ev.where == "title", count + 1, min(first, pos))
    order = sorted(stats, key=lambda n: (not stats[n][0], -stats[n][1], stats[n][2]))
    return CouncilMatch(
        councils=tuple(by_name[n] for n in order), evidence=tuple(evidence), reasons=reasons
    )
