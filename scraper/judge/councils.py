"""The register of English children's services authorities: names, aliases and codes.

Users name councils however they like ("B&NES", "869", "E06000037", "Brighter Futures for
Children"), so every identifier a row carries resolves to it. Abolished predecessors stay in the
register because old reports name them, but a current row always wins a tie.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources

from scraper.judge.textnorm import fold_text
from scraper.models import Council

log = logging.getLogger(__name__)

DATA_FILE = "english_children_services_authorities.csv"
# Towns and short forms journalists use for a council ("Hereford", "Herts", "Kingston"). A name
# that belongs to one council is an alias of it; one shared by several (needs_context = yes) only
# names a council when something else in the story says which.
PLACES_FILE = "council_places.csv"

# ONS reissued these two codes in 2025 after a boundary change; DfE and Ofsted data still use
# the old ones, so both must resolve (see the dataset README, "Known gaps" 3).
REISSUED_GSS = {"E08000016": ("E08000038",), "E08000019": ("E08000039",)}

# Variants seen in real coverage that the dataset does not list; keyed by GSS code.
EXTRA_ALIASES = {
    "E06000037": ("West Berks",),  # "West Berks Residents Bulletin"
    "E06000040": ("RBWM",),  # the council's own domain and press office
    "E06000022": ("BANES",),  # common usage in local papers
}

# Councils abolished by reorganisation -> the authorities that took over their children's
# services (GSS codes). The register marks a predecessor only by `valid_to`, which cannot say
# who came next: Dorset County and Bournemouth ended on the same day with different heirs.
SUCCESSORS = {
    "E06000028": ("E06000058",),  # Bournemouth -> Bournemouth, Christchurch and Poole
    "E06000029": ("E06000058",),  # Poole -> Bournemouth, Christchurch and Poole
    "E10000009": ("E06000059",),  # Dorset County Council -> Dorset Council
    "E10000002": ("E06000060",),  # Buckinghamshire County Council -> Buckinghamshire Council
    "E10000021": ("E06000061", "E06000062"),  # Northamptonshire -> North and West
    "E10000006": ("E06000063", "E06000064"),  # Cumbria -> Cumberland, Westmorland and Furness
    "E10000023": ("E06000065",),  # North Yorkshire County Council -> North Yorkshire Council
    "E10000027": ("E06000066",),  # Somerset County Council -> Somerset Council
}

# Prefixes and suffixes that name the kind of council rather than the place. Order matters:
# the longer prefixes must be tried before "borough of".
_PREFIXES = (
    "the ",
    "royal borough of ",
    "london borough of ",
    "metropolitan borough of ",
    "borough of ",
    "council of the ",
    "council of ",
)
_SUFFIXES = (" city of", " county of", " ua", " london boro")
_KIND_WORDS = re.compile(r"\b(?:metropolitan|borough|district|county|council)\b")
_SPACES = re.compile(r"\s+")
_GSS = re.compile(r"[EWSN]\d{8}")
_DIGITS = re.compile(r"\d{3,8}")
# "City of London" must not become "london" (it is not London as a whole); elsewhere
# "City of Bristol" and "Bristol" are the same council.
_KEEP_CITY_OF = frozenset({"london"})


def normalise_name(text: str) -> str:
    """The comparable key of a council name: folded, with words for the kind of council dropped.

    "Royal Borough of Windsor & Maidenhead" and "Windsor and Maidenhead" share a key;
    "Bristol City Council" keeps "city" so it never collides with "City of London".
    """
    folded = fold_text(text)
    key = _strip_affixes(folded)
    key = _SPACES.sub(" ", _KIND_WORDS.sub(" ", key)).strip()
    return key or folded


def _strip_affixes(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key, changed = key[len(prefix) :], True
        if key.startswith("city of ") and key[8:] not in _KEEP_CITY_OF:
            key, changed = key[8:], True
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, changed = key[: -len(suffix)], True
    return key


def _acronym(name: str) -> str:
    return "".join(word[0] for word in re.findall(r"[A-Za-z]+", name)).casefold()


def parse_delivery_bodies(free_text: str, aliases: Iterable[str]) -> tuple[str, ...]:
    """Body names from the free-text column, plus the aliases that abbreviate or rename them.

    "Brighter Futures for Children (from 2018-12; ...)" gives "Brighter Futures for Children",
    and the alias "BFfC" joins it because its letters are the body's initials.
    """
    without_notes = re.sub(r"\([^)]*\)", "", free_text)
    bodies: list[str] = []
    for part in without_notes.split(";"):
        name = re.sub(r"^\s*previously\s+", "", part).strip(" ,")
        if name:
            bodies.append(name)
    initials = {_acronym(b) for b in bodies}
    keys = {fold_text(b) for b in bodies}
    for alias in aliases:
        folded = fold_text(alias)
        is_acronym = alias.isalpha() and alias.casefold() in initials and len(alias) >= 3
        renames = any(folded.startswith(k) or k.startswith(folded) for k in keys)
        trustish = re.search(r"\b(?:trust|children first|for children)\b", folded) is not None
        if (is_acronym or renames or (bodies and trustish)) and alias not in bodies:
            bodies.append(alias)
    return tuple(bodies)


def _council_from_row(row: dict[str, str]) -> Council:
    aliases = tuple(a.strip() for a in row["aliases"].split(";") if a.strip())
    aliases += tuple(a for a in EXTRA_ALIASES.get(row["gss_code"].strip(), ()) if a not in aliases)
    valid_to = row["valid_to"].strip()
    return Council(
        name=row["name"].strip(),
        short_name=row["short_name"].strip(),
        gss_code=row["gss_code"].strip(),
        dfe_la_code=row["dfe_la_code"].strip(),
        ofsted_urn=row["ofsted_urn"].strip() or None,
        region=row["region"].strip(),
        aliases=aliases,
        delivery_bodies=parse_delivery_bodies(row["delivery_body"], aliases),
        other_gss_codes=REISSUED_GSS.get(row["gss_code"].strip(), ()),
        valid_to=date.fromisoformat(valid_to) if valid_to else None,
    )


def parse_register(text: str, places: Places | None = None) -> tuple[Council, ...]:
    """Councils from the register CSV text, current rows first (file order kept within each).

    The unambiguous place names in `places` join their council's aliases.
    """
    rows = [_council_from_row(r) for r in csv.DictReader(io.StringIO(text))]
    if places is not None:
        rows = [_with_towns(c, places.towns.get(c.short_name, ())) for c in rows]
    return tuple(sorted(rows, key=lambda c: not c.current))


def _with_towns(council: Council, towns: tuple[str, ...]) -> Council:
    if not council.current:
        return council
    extra = tuple(t for t in towns if t not in council.aliases)
    return replace(council, aliases=council.aliases + extra) if extra else council


@dataclass(frozen=True, slots=True)
class Places:
    """The place-name data: towns that name one council, and names shared by several."""

    towns: Mapping[str, tuple[str, ...]]  # council short name -> its town names
    shared: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]]  # name -> (council, context)


def parse_places(text: str) -> Places:
    """The places CSV: a name marked needs_context must have a row per council it may mean,
    each with the context words that point to that council; any other name has one row."""
    towns: dict[str, list[str]] = {}
    shared: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        name, council = row["name"].strip(), row["council"].strip()
        if row["needs_context"].strip() == "yes":
            context = tuple(w.strip() for w in row["context"].split(";") if w.strip())
            shared.setdefault(name, []).append((council, context))
        else:
            towns.setdefault(council, []).append(name)
    return Places(
        towns={k: tuple(v) for k, v in towns.items()},
        shared={k: tuple(v) for k, v in shared.items()},
    )


def name_keys(council: Council) -> frozenset[str]:
    """Every normalised name a council answers to (name, short name, aliases, delivery bodies)."""
    names = (council.name, council.short_name, *council.aliases, *council.delivery_bodies)
    return frozenset(normalise_name(n) for n in names)


def code_keys(council: Council) -> frozenset[str]:
    """Every code a council answers to: GSS codes (old and reissued), DfE code, Ofsted URN."""
    codes = {council.gss_code, *council.other_gss_codes, council.dfe_la_code, council.ofsted_urn}
    return frozenset(c.upper() for c in codes if c)


class Register:
    """Lookup over the register; built once, read-only afterwards."""

    def __init__(self, councils: Iterable[Council], places: Places | None = None) -> None:
        self._councils = tuple(sorted(councils, key=lambda c: not c.current))
        self.shared_names: Mapping[str, tuple[tuple[str, tuple[str, ...]], ...]] = (
            places.shared if places is not None else {}
        )
        self._by_name: dict[str, list[Council]] = {}
        self._by_code: dict[str, list[Council]] = {}
        for council in self._councils:
            for key in name_keys(council):
                self._by_name.setdefault(key, []).append(council)
            for code in code_keys(council):
                self._by_code.setdefault(code, []).append(council)

    def all(self, *, current_only: bool = True) -> tuple[Council, ...]:
        """Every council, current ones only unless asked for predecessors too."""
        if current_only:
            return tuple(c for c in self._councils if c.current)
        return self._councils

    def _hits(self, query: str) -> list[Council]:
        text = query.strip()
        if _GSS.fullmatch(text.upper()) or _DIGITS.fullmatch(text):
            return list(self._by_code.get(text.upper(), ()))
        return list(self._by_name.get(normalise_name(text), ()))

    def lookup_all(self, query: str) -> tuple[Council, ...]:
        """Every current council the query denotes (a shared delivery body gives several).

        When only abolished rows match, those are returned instead.
        """
        hits = self._hits(query)
        current = tuple(c for c in hits if c.current)
        return current or tuple(hits)

    def lookup(self, query: str) -> Council | None:
        """The one council the query denotes, or None when it denotes none or several."""
        hits = self.lookup_all(query)
        return hits[0] if len(hits) == 1 else None

    def by_urn(self, urn: str) -> Council | None:
        """The council with this Ofsted URN, the current row when a predecessor shares it."""
        for council in self._by_code.get(urn.strip(), ()):
            if council.ofsted_urn == urn.strip():
                return council
        return None

    def successors(self, council: Council) -> tuple[Council, ...]:
        """The current councils that took over an abolished one's children's services."""
        codes = SUCCESSORS.get(council.gss_code, ())
        return tuple(c for code in codes for c in self._by_code.get(code, ()) if c.current)

    def search(self, query: str, limit: int = 10) -> list[Council]:
        """Councils for a CLI search: exact hits, then substring hits, then fuzzy hits."""
        found: list[Council] = list(self.lookup_all(query))
        key = normalise_name(query)
        if key:
            for council in self._councils:
                if any(key in k for k in name_keys(council)) or key in fold_text(council.name):
                    found.append(council)
        for close in _closest(key, list(self._by_name), limit):
            found.extend(self._by_name[close])
        unique = list(dict.fromkeys(found))
        return unique[:limit]

    def suggest(self, query: str, n: int = 3) -> list[str]:
        """Short names that look like the query, for a "did you mean" hint."""
        key = normalise_name(query)
        close = difflib.get_close_matches(key, list(self._by_name), n=n * 3, cutoff=0.6)
        names = [c.short_name for k in close for c in self._by_name[k]]
        return list(dict.fromkeys(names))[:n]


@functools.cache
def load_register() -> Register:
    """The register shipped with the package (read once per process)."""
    data = resources.files("scraper").joinpath("data")
    places = parse_places(data.joinpath(PLACES_FILE).read_text(encoding="utf-8"))
    councils = parse_register(data.joinpath(DATA_FILE).read_text(encoding="utf-8"), places)
    log.debug("register loaded councils=%d", len(councils))
    return Register(councils, places)


def _closest(key: str, names: list[str], limit: int, cutoff: float = 0.6) -> list[str]:
    """Names closest to a mistyped query, best first.

    A name is also compared with the query's first words (as many as the name has) and the other
    way round, so "Readng Borogh" finds "reading" before "wellingborough", which only resembles
    the whole query letter for letter.
    """
    query = key.split()
    scored = []
    for name in names:
        parts = name.split()
        score = max(
            difflib.SequenceMatcher(None, key, name).ratio(),
            difflib.SequenceMatcher(None, key, " ".join(parts[: len(query)])).ratio(),
            difflib.SequenceMatcher(None, " ".join(query[: len(parts)]), name).ratio(),
        )
        if score >= cutoff:
            scored.append((score, name))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [name for _, name in scored[:limit]]
