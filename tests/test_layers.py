"""The architecture holds: each side effect lives in its one place (house-style layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scraper"

# module prefix imported -> the files allowed to import it
ALLOWED = {
    "requests": {"fetch.py", "fetch_state.py", "notify/webhook.py"},
    "smtplib": {"notify/email.py"},
    "sqlalchemy": {"store/", "leader.py"},  # leader: the PostgreSQL advisory lock
    "alembic": {"store/"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_side_effect_libraries_stay_in_their_module(module: str) -> None:
    """HTTP, SMTP and SQL libraries are imported only by the modules that own them."""
    offenders = []
    for path in _files():
        rel = path.relative_to(PACKAGE).as_posix()
        allowed = any(rel == a or (a.endswith("/") and rel.startswith(a)) for a in ALLOWED[module])
        if module in _imports(path) and not allowed:
            offenders.append(rel)
    assert offenders == []


def test_only_the_cli_prints() -> None:
    """print() appears only in cli.py: everything else returns values or logs."""
    offenders = []
    for path in _files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"
        ]
        if calls and path.name != "cli.py":
            offenders.append(path.relative_to(PACKAGE).as_posix())
    assert offenders == []


def test_parsers_do_no_io() -> None:
    """Classify, match, detect and the text parsers import no HTTP, SQL or SMTP library."""
    for name in ("classify.py", "match.py", "detect.py", "ofsted_pdf.py", "dates.py", "urls.py"):
        assert not _imports(PACKAGE / name) & {"requests", "sqlalchemy", "smtplib", "urllib3"}, name
