"""Engines, connection settings and migrations: the one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.sql.schema import Table

from scraper.errors import StoreError

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """SQLite gets WAL, a busy timeout, FULL sync and BEGIN IMMEDIATE (reliability.md 26)."""
    if url.startswith("postgresql:"):
        url = "postgresql+psycopg:" + url.removeprefix("postgresql:")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Every transaction reads then writes; IMMEDIATE takes the write lock up front so
        # two processes wait on busy_timeout instead of failing with SQLITE_BUSY mid-way.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _alembic_config(conn: Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("scraper.store") / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine) -> list[str]:
    """Apply pending migrations; returns the revisions applied (empty when up to date)."""
    try:
        with engine.begin() as conn:
            cfg = _alembic_config(conn)
            before = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(cfg).get_current_head()
            if before == head:
                return []
            command.upgrade(cfg, "head")
            log.info("database migrated from=%s to=%s", before or "empty", head)
            return [head or ""]
    except SQLAlchemyError as exc:
        raise StoreError(f"database migration failed: {_reason(exc)}") from exc


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction; database errors become StoreError with a one-line reason."""
    try:
        with engine.begin() as conn:
            yield conn
    except OperationalError as exc:
        raise StoreError(f"database error: {_reason(exc)}") from exc


def insert_ignore(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was new.

    RETURNING tells reliably whether a row went in (rowcount is -1 on some drivers).
    """
    key = next(iter(table.primary_key.columns))
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(table).values(**row).on_conflict_do_nothing()
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(table).values(**row).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(table).values(**row)
    return conn.execute(stmt.returning(key)).first() is not None


def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: everything stored is UTC, so say so."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
