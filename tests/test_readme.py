"""The README stays true: every command is documented, and CI runs its test command."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from scraper.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    names = []
    for name, child in sub.choices.items():
        nested = [a for a in child._actions if isinstance(a, argparse._SubParsersAction)]
        names += [f"{name} {n}" for n in nested[0].choices] if nested else [name]
    return names


def test_readme_documents_every_command() -> None:
    """Each CLI command and sub-command appears in the README's CLI reference."""
    missing = [c for c in _commands() if f"`{c}" not in README]
    assert missing == []


def test_readme_documents_every_config_table() -> None:
    """Each configuration table and source/channel type has a section in the README."""
    for table in ("[storage]", "[http]", "[daemon]", "[watchlist]", "[[sources]]", "[[alerts]]"):
        assert f"### `{table}`" in README
    for kind in ("`ofsted`", "`feed`", "`html`", "`webhook`", "`email`"):
        assert kind in README


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls the README's test command verbatim."""
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    assert test_command in (ROOT / ".ci/run").read_text(encoding="utf-8")
