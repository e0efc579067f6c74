"""Tests for the council register: loading, normalisation and lookup by every identifier."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from scraper.judge.councils import (
    Register,
    load_register,
    name_keys,
    normalise_name,
    parse_delivery_bodies,
)


@pytest.fixture(scope="module")
def register() -> Register:
    return load_register()


def test_register_has_153_current_and_8_predecessors(register: Register) -> None:
    """The shipped CSV loads as 153 current councils plus 8 abolished predecessors."""
    assert len(register.all()) == 153
    everything = register.all(current_only=False)
    assert len(everything) == 161
    assert sum(1 for c in everything if c.valid_to is not None) == 8


def test_register_is_cached() -> None:
    """load_register returns the same object on every call (read once per process)."""
    assert load_register() is load_register()


def test_normalise_name_keeps_current_councils_distinct(register: Register) -> None:
    """No two current councils share a normalised name, short name or non-delivery-body alias."""
    owners: dict[str, set[str]] = defaultdict(set)
    for council in register.all():
        for text in (council.name, council.short_name, *council.aliases):
            if text not in council.delivery_bodies:
                owners[normalise_name(text)].add(council.gss_code)
    clashes = {k: v for k, v in owners.items() if len(v) > 1}
    assert clashes == {}


def test_normalise_name_only_delivery_bodies_are_shared(register: Register) -> None:
    """The only keys several current councils answer to are shared delivery bodies."""
    owners: dict[str, set[str]] = defaultdict(set)
    for council in register.all():
        for key in name_keys(council):
            owners[key].add(council.short_name)
    shared = {k for k, v in owners.items() if len(v) > 1}
    assert shared == {"achieving for children", "afc", "northamptonshire children trust"}


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Windsor & Maidenhead", "Royal Borough of Windsor and Maidenhead"),
        ("St. Helens", "St Helens Council"),
        ("Kingston Upon Hull, City of", "Kingston upon Hull"),
        ("Stockton-on-Tees Borough Council", "stockton on tees"),
        ("Bath & North East Somerset Council", "Bath and North East Somerset"),
        ("Bristol, City of", "Bristol"),
        ("Durham County Council", "County Durham"),
        ("London Borough of Hammersmith & Fulham", "Hammersmith and Fulham"),
        ("Reading’s", "Reading's"),
    ],
)
def test_normalise_name_folds_variants(left: str, right: str) -> None:
    """Spelling variants of one council name normalise to the same key."""
    assert normalise_name(left) == normalise_name(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Kingston upon Hull", "Kingston upon Thames"),
        ("City of London", "Bristol City"),
        ("North Somerset", "Somerset"),
        ("West Berkshire", "Berkshire"),
    ],
)
def test_normalise_name_keeps_different_places_apart(left: str, right: str) -> None:
    """Names of different places never normalise to the same key."""
    assert normalise_name(left) != normalise_name(right)


@pytest.mark.parametrize(
    ("query", "gss"),
    [
        ("Reading", "E06000038"),
        ("Reading Borough Council", "E06000038"),
        ("reading borough council", "E06000038"),
        ("Brighter Futures for Children", "E06000038"),
        ("BFfC", "E06000038"),
        ("E06000038", "E06000038"),
        ("e06000038", "E06000038"),
        ("870", "E06000038"),
        ("80540", "E06000038"),
        ("B&NES", "E06000022"),
        ("BaNES", "E06000022"),
        ("BANES", "E06000022"),
        ("Bath & North East Somerset Council", "E06000022"),
        ("Windsor & Maidenhead", "E06000040"),
        ("Royal Borough of Windsor and Maidenhead", "E06000040"),
        ("St. Helens", "E08000013"),
        ("St Helens", "E08000013"),
        ("Kingston Upon Hull, City of", "E06000010"),
        ("Hull City Council", "E06000010"),
        ("Hull", "E06000010"),
        ("West Berks", "E06000037"),
        ("West Berkshire District Council", "E06000037"),
        ("E08000038", "E08000016"),
        ("E08000039", "E08000019"),
        ("2733690", "E06000063"),
        ("BCP", "E06000058"),
        ("Together for Children", "E08000024"),
    ],
)
def test_register_lookup_by_every_identifier(register: Register, query: str, gss: str) -> None:
    """Names, aliases, delivery bodies, GSS (old and 2025), DfE codes and URNs resolve."""
    council = register.lookup(query)
    assert council is not None
    assert council.gss_code == gss


@pytest.mark.parametrize(
    ("query", "gss"),
    [("825", "E06000060"), ("North Yorkshire", "E06000065"), ("80555", "E06000066")],
)
def test_register_lookup_prefers_current_row(register: Register, query: str, gss: str) -> None:
    """A current council wins over the predecessor that shares its DfE code, URN or name."""
    council = register.lookup(query)
    assert council is not None
    assert council.current
    assert council.gss_code == gss


def test_register_lookup_falls_back_to_predecessor(register: Register) -> None:
    """A name only an abolished council had resolves to that predecessor row."""
    council = register.lookup("Cumbria County Council")
    assert council is not None
    assert council.valid_to == date(2023, 3, 31)


def test_register_lookup_shared_delivery_body_is_ambiguous(register: Register) -> None:
    """Achieving for Children denotes three councils, so lookup gives None and lookup_all all."""
    assert register.lookup("Achieving for Children") is None
    names = {c.short_name for c in register.lookup_all("AfC")}
    assert names == {"Kingston upon Thames", "Richmond upon Thames", "Windsor and Maidenhead"}


@pytest.mark.parametrize("query", ["Kingston", "Berkshire", "London", "", "Reading FC"])
def test_register_lookup_ambiguous_or_unknown_is_none(register: Register, query: str) -> None:
    """Ambiguous or unknown names resolve to nothing rather than to a guess."""
    assert register.lookup(query) is None


def test_register_by_urn_prefers_current(register: Register) -> None:
    """by_urn finds 5- and 7-digit URNs and returns the current row for a shared URN."""
    bucks = register.by_urn("80442")
    assert bucks is not None
    assert bucks.name == "Buckinghamshire Council"
    cumberland = register.by_urn("2733690")
    assert cumberland is not None
    assert cumberland.short_name == "Cumberland"
    assert register.by_urn("99999") is None


def test_register_council_fields_parsed(register: Register) -> None:
    """Delivery bodies, reissued GSS codes and valid_to come out of the CSV as values."""
    reading = register.lookup("Reading")
    assert reading is not None
    assert reading.delivery_bodies == ("Brighter Futures for Children", "BFfC")
    barnsley = register.lookup("Barnsley")
    assert barnsley is not None
    assert barnsley.other_gss_codes == ("E08000038",)
    assert barnsley.current
    slough = register.lookup("Slough")
    assert slough is not None
    assert "Slough Children's Services Trust" in slough.delivery_bodies


def test_parse_delivery_bodies_strips_notes() -> None:
    """Dates and notes in brackets and the word "previously" are dropped from body names."""
    text = "Slough Children First (from 2021-04); previously Slough Children's Services Trust (x)"
    assert parse_delivery_bodies(text, ("SCF",)) == (
        "Slough Children First",
        "Slough Children's Services Trust",
        "SCF",
    )
    assert parse_delivery_bodies("", ("Reading UA",)) == ()


def test_register_search_exact_first_then_fuzzy(register: Register) -> None:
    """search puts the exact hit first and then substring and fuzzy hits."""
    results = register.search("Berkshire")
    assert results[0].short_name == "West Berkshire"
    assert register.search("Reading")[0].short_name == "Reading"
    assert "Reading" in [c.short_name for c in register.search("Redding")]
    assert len(register.search("shire", limit=4)) == 4


def test_register_suggest_offers_close_names(register: Register) -> None:
    """An unknown name yields "did you mean" short names."""
    assert register.lookup("Redding") is None
    assert "Reading" in register.suggest("Redding")
    assert "West Berkshire" in register.suggest("Westberkshire")
    assert register.suggest("zzzzzzzzzz") == []


def test_place_data_names_current_councils_and_marks_shared_names() -> None:
    """Every place row names a current council; a name marked needs_context has a row per
    council it may mean, each with context words; no town takes another council's own name."""
    from importlib import resources

    from scraper.judge.councils import PLACES_FILE, parse_places

    text = resources.files("scraper").joinpath("data", PLACES_FILE).read_text(encoding="utf-8")
    places = parse_places(text)
    register = load_register()
    current = {c.short_name for c in register.all()}
    for council, towns in places.towns.items():
        assert council in current, council
        for town in towns:
            assert [c.short_name for c in register.lookup_all(town)] == [council], town
    assert {"Kingston", "Richmond", "Northants"} <= set(places.shared)
    for name, rows in places.shared.items():
        assert len(rows) >= 2, name
        assert all(council in current and context for council, context in rows), name
        assert register.lookup(name) is None, name  # never resolved without context


def test_register_town_names_resolve_and_shared_names_do_not() -> None:
    """ "Hereford" and "Herts" look up their councils; "Kingston" looks up none."""
    register = load_register()
    hereford, herts = register.lookup("Hereford"), register.lookup("Herts")
    assert hereford is not None and hereford.short_name == "Herefordshire"
    assert herts is not None and herts.short_name == "Hertfordshire"
    assert register.lookup("Kingston") is None
    assert register.shared_names["Kingston"][0][0] == "Kingston upon Thames"
