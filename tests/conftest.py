"""Shared fixtures: databases (SQLite in tmp_path, and the real PostgreSQL on 127.0.0.1:5432)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_BASE = os.environ.get(
    "OFSTED_WATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_reachable() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
        ):
            return None
    except Exception as exc:  # any failure means "not reachable here"
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture(scope="session")
def pg_available() -> None:
    """Skip (outside CI) or fail (in CI) when PostgreSQL is not reachable."""
    reason = _pg_reachable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but PostgreSQL on 127.0.0.1:5432 is unreachable: {reason}")
    pytest.skip(f"PostgreSQL on 127.0.0.1:5432 unreachable: {reason}")


@pytest.fixture
def pg_url(pg_available: None) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards: tests never collide."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
    ) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
        ) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/ofsted-watch.db"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Both back-ends: store tests run on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ofsted-watch.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main()` installs a stderr handler on the root logger; put the old ones back after each
    test, so threads still running (an SMTP server's loop) never write to a closed capture."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
