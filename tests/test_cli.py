"""The CLI's own behaviour: the council search, entry points and usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.cli.commands import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("west berks", "West Berkshire"),
        ("E06000038", "Reading"),
        ("80577", "West Berkshire"),
        ("870", "Reading"),
        ("BFfC", "Reading"),
        ("B&NES", "Bath and North East Somerset"),
        ("2733690", "Cumberland"),
        ("E08000038", "Barnsley"),
    ],
)
def test_councils_finds_by_any_identifier(
    query: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`councils QUERY` finds a council by name, alias, delivery body, GSS/DfE code or URN."""
    assert main(["councils", query]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(expected)


def test_councils_json_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives the register fields; a near miss still finds; nonsense exits 1."""
    assert main(["councils", "Reading", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (row["name"], row["gss_code"], row["ofsted_urn"], row["dfe_la_code"]) == (
        "Reading",
        "E06000038",
        "80540",
        "870",
    )
    assert "Brighter Futures for Children" in row["delivery_bodies"]
    assert main(["councils", "Readng Borogh"]) == 0
    assert capsys.readouterr().out.startswith("Reading ")
    assert main(["councils", "Zzyzx Qqq"]) == 1
    assert "no council matches 'Zzyzx Qqq'" in capsys.readouterr().err


def test_councils_without_query_lists_the_153_current(capsys: pytest.CaptureFixture[str]) -> None:
    """With no query, every current children's services authority is listed."""
    assert main(["councils"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 153


def test_python_dash_m_and_console_script_agree() -> None:
    """`python -m scraper` runs the same CLI as the console script."""
    out = subprocess.run(
        [sys.executable, "-m", "scraper", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert out.stdout.startswith("ofsted-watch ")


def test_unknown_source_name_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fetch --source NAME` with no such source exits 2 naming it."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/x.db"\n[watchlist]\ncouncils = ["Reading"]\n'
    )
    assert main(["--config", str(config), "fetch", "--source", "nope"]) == 2
    assert "no enabled source named 'nope'" in capsys.readouterr().err


def test_councils_marks_abolished_ones_with_their_successors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An abolished council is marked as such, naming who took over, in text and JSON."""
    assert main(["councils", "Northamptonshire"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Northamptonshire ") and "ABOLISHED 2021-03-31" in first
    assert "North Northamptonshire" in first and "West Northamptonshire" in first
    assert main(["councils", "Poole", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    poole = next(r for r in rows if r["name"] == "Poole")
    assert poole["current"] is False and poole["valid_to"] == "2019-03-31"
    assert poole["successors"] == ["Bournemouth, Christchurch and Poole"]
