"""The README stays true: every command is documented, and CI runs its test command."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

from scraper.cli.commands import build_parser

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


def _layout_tree() -> set[str]:
    """The paths the README's layout tree names, rebuilt from its indentation."""
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
    stack: list[tuple[int, str]] = []
    paths: set[str] = set()
    for line in block.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        name = line.split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(p for _, p in stack) + name
        paths.add(path)
        stack.append((indent, name if name.endswith("/") else name + "/"))
    return paths


def _only_a_docstring(path: Path) -> bool:
    """A package marker that holds nothing but its docstring needs no line of its own."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return path.name == "__init__.py" and len(body) <= 1


def test_readme_layout_matches_the_tree() -> None:
    """Every module and package of scraper/ is in the README's layout tree, and nothing more."""
    root = ROOT
    tree = _layout_tree()
    listed = {p for p in tree if p.endswith(".py")}
    actual = {
        p.relative_to(root).as_posix()
        for p in (root / "scraper").rglob("*.py")
        if "migrations" not in p.parts and not _only_a_docstring(p)
    }
    actual.discard("scraper/__init__.py")
    assert actual - listed == set(), "modules missing from the README layout"
    assert listed - actual == set(), "README layout names modules that do not exist"
