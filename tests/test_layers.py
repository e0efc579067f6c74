"""The architecture holds: each side effect lives in its one place (the layout in the README)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scraper"

# module prefix imported -> the files allowed to import it
ALLOWED = {
    "requests": {
        "ingest/fetch.py",
        "ingest/fetch_state.py",
        "ingest/fetch_errors.py",
        "alerts/channels/webhook.py",
    },
    "smtplib": {"alerts/channels/email.py"},
    "sqlalchemy": {"store/", "run/leader.py"},  # leader: the PostgreSQL advisory lock
    "alembic": {"store/"},
    "werkzeug": {"web/"},
    "jinja2": {"web/"},
    "waitress": {"web/"},
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
    """print() appears only in cli/: everything else returns values or logs."""
    offenders = []
    for path in _files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"
        ]
        if calls and not path.relative_to(PACKAGE).as_posix().startswith("cli/"):
            offenders.append(path.relative_to(PACKAGE).as_posix())
    assert offenders == []


def test_parsers_do_no_io() -> None:
    """Classify, match, detect and the text parsers import no HTTP, SQL or SMTP library."""
    names = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "judge").glob("*.py")]
    for name in [*names, "ingest/sources/ofsted_pdf.py", "ingest/dates.py"]:
        assert not _imports(PACKAGE / name) & {"requests", "sqlalchemy", "smtplib", "urllib3"}, name


def _scraper_imports(path: Path) -> set[str]:
    """Every `scraper.x.y` module a file imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("scraper")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scraper"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _package_files(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


def test_judge_imports_neither_store_nor_ingest() -> None:
    """The judging package is pure: no store, no fetch layer, no alerts, run or CLI."""
    banned = ("scraper.store", "scraper.ingest", "scraper.alerts", "scraper.run", "scraper.cli")
    offenders = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            m for m in _scraper_imports(path) if m.startswith(banned)
        )
        for path in _package_files("judge")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_imports_the_cli() -> None:
    """The CLI is the composition root: no other package imports it."""
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in _files()
        if not path.relative_to(PACKAGE).as_posix().startswith(("cli/", "__main__.py"))
        and any(m.startswith("scraper.cli") for m in _scraper_imports(path))
    ]
    assert offenders == []


def test_the_folder_list_is_the_architecture() -> None:
    """scraper/ holds the stage packages and only the shared top-level modules."""
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == {"settings", "ingest", "judge", "store", "alerts", "run", "web", "cli"}


def test_no_comment_cites_a_document_outside_the_repository() -> None:
    """Comments give the reason in place; the product never points at the project's notes."""
    root = PACKAGE.parent
    cited = ("reliability.md", "sources.md", "interface.md", "house-style.md", "../shared")
    offenders = [
        path.relative_to(root).as_posix()
        for folder in ("scraper", "tests", "bench")
        for path in (root / folder).rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".txt", ".toml", ".html", ".xml", ".md"}
        and any(c in path.read_text(encoding="utf-8", errors="replace") for c in cited)
        and path.name != "test_layers.py"
    ]
    assert offenders == []


CLI_MAY_IMPORT = (
    "scraper.cli",
    "scraper.run",
    "scraper.settings",
    "scraper.models",
    "scraper.errors",
    "scraper.clock",
)


def _cli_import_allowed(module: str) -> bool:
    """The run, settings and store layers (the Store facade only), shared values, the CLI."""
    if module in ("scraper", "scraper.__version__", "scraper.store"):
        return True
    if module.startswith("scraper.store."):
        rest = module.removeprefix("scraper.store.")
        internal = (PACKAGE / "store" / f"{rest.split('.')[0]}.py").exists() or (
            PACKAGE / "store" / rest.split(".")[0]
        ).is_dir()
        return not internal
    return (
        module == "scraper"
        or module.startswith(tuple(f"{p}." for p in CLI_MAY_IMPORT))
        or (module in CLI_MAY_IMPORT)
    )


def test_the_cli_imports_only_run_settings_and_store() -> None:
    """The CLI composes the run, settings and store layers; never ingest, judge or alerts."""
    offenders = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            m for m in _scraper_imports(path) if not _cli_import_allowed(m)
        )
        for path in _package_files("cli")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
