"""Engines, connection settings and migrations: the one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.schema import Table

from scraper.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """SQLite gets WAL, a busy timeout, FULL sync and BEGIN IMMEDIATE: concurrent writers wait
    instead of failing, and a crash loses no commit. `pooled=False` (the web view's reads on
    SQLite) opens a connection per transaction, so no page cache outlives a request."""
    if url.startswith("postgresql:"):
        url = "postgresql+psycopg:" + url.removeprefix("postgresql:")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    pool: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

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
        # Write transactions read then write; IMMEDIATE takes the write lock up front so
        # two processes wait on busy_timeout instead of failing with SQLITE_BUSY mid-way.
        # Read-only ones (marked by `reading()`) take no lock: WAL readers never block.
        readonly = conn.get_execution_options().get(READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _alembic_config(conn: Connection) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("scraper.store") / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest migration, read from the file names (NNNN_name.py; revision id = NNNN).

    Checking this against the database needs no alembic import, which saves ~10 MB of
    resident memory in a daemon whose schema is already up to date.
    """
    versions = resources.files("scraper.store") / "migrations" / "versions"
    ids = [
        p.name[:4] for p in versions.iterdir() if p.name[:4].isdigit() and p.name.endswith(".py")
    ]
    return max(ids)


def _stored_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(value) if value is not None else None


def upgrade(engine: Engine) -> list[str]:
    """Apply pending migrations; returns the revisions applied (empty when up to date)."""
    try:
        with engine.begin() as conn:
            before = _stored_revision(conn)
            head = head_revision()
            if before == head:
                return []
            from alembic import command

            command.upgrade(_alembic_config(conn), "head")
            log.info("database migrated from=%s to=%s", before or "empty", head)
            return [head]
    except SQLAlchemyError as exc:
        raise StoreError(f"database migration failed: {_reason(exc)}") from exc


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _stored_revision(conn)


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


READONLY = "ofsted_watch_readonly"
# SQLite has one writer at a time. Threads of one process queue on this lock (woken at once)
# instead of sleeping in SQLite's busy handler, which backs off in steps of up to 100 ms.
_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_LOCK = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    key = str(engine.url)
    with _SQLITE_WRITERS_LOCK:
        return _SQLITE_WRITERS.setdefault(key, threading.Lock())


@contextmanager
def transaction(engine: Engine, *, rollback: bool = False) -> Iterator[Connection]:
    """One write transaction; database errors become StoreError with a one-line reason.

    `rollback=True` undoes everything at the end (a dry run takes the real path, keeps nothing).
    """
    lock = _writer_lock(engine)
    try:
        if lock is not None:
            lock.acquire()
        try:
            with engine.connect() as conn, conn.begin() as trans:
                yield conn
                if rollback:
                    trans.rollback()
        finally:
            if lock is not None:
                lock.release()
    except OperationalError as exc:
        raise StoreError(f"database error: {_reason(exc)}") from exc


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction: on SQLite it takes no write lock."""
    try:
        with engine.connect() as base:
            conn = base.execution_options(**{READONLY: True})
            with conn.begin():
                yield conn
    except OperationalError as exc:
        raise StoreError(f"database error: {_reason(exc)}") from exc


def insert_ignore(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was new.

    RETURNING tells reliably whether a row went in (rowcount is -1 on some drivers).
    """
    key = next(iter(table.primary_key.columns))
    if conn.dialect.name in ("postgresql", "sqlite"):
        stmt: Any = _dialect_insert(conn, table).values(**row).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(table).values(**row)
    return conn.execute(stmt.returning(key)).first() is not None


def insert_many_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT … ON CONFLICT DO NOTHING (one executemany; no per-row statement build)."""
    if not rows:
        return
    conn.execute(_dialect_insert(conn, table).on_conflict_do_nothing(), rows)


def _dialect_insert(conn: Connection, table: Table) -> Any:
    """The dialect's own INSERT (it has ON CONFLICT), imported on use: a SQLite run never loads
    the PostgreSQL dialect and its async drivers (~50 ms of start-up)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: everything stored is UTC, so say so."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
