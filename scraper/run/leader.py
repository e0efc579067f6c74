"""Who may run the scheduler: one daemon per SQLite file; one active daemon per PostgreSQL database.

SQLite: an exclusive `flock` on `<db>.lock`; a second daemon refuses to start (the lock dies with
the process, so a crash never leaves a stale lock). PostgreSQL: a session-level
`pg_try_advisory_lock` on a dedicated connection elects the active instance; the others stand by
and retry, and take over within seconds when the active one's session ends (process killed,
host gone). Coordination lives in the database, not in a home-made protocol.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from scraper.errors import AlreadyRunningError

log = logging.getLogger(__name__)


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


class FileLock:
    """Exclusive lock beside the SQLite file; `try_acquire` raises if another daemon holds it."""

    def __init__(self, db_url: str) -> None:
        database = make_url(db_url).database or ""
        self.path = Path(f"{database}.lock") if database not in ("", ":memory:") else None
        self._fh: IO[str] | None = None

    def try_acquire(self) -> bool:
        if self.path is None or self._fh is not None:
            return True
        fh = self.path.open("a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise AlreadyRunningError(
                f"another ofsted-watch daemon ({holder}) already uses {self.path.with_suffix('')}; "
                "SQLite allows one daemon per database (use PostgreSQL for several)"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return True

    def still_held(self) -> bool:
        return self._fh is not None or self.path is None

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


# Advisory locks are per database, not per schema: the second key, a hash of the schema the
# tables live in, keeps two deployments (or test runs) in one database from electing each other.
_SCHEMA_KEY = "hashtext(current_schema())"


class AdvisoryLock:
    """Leader election through a PostgreSQL session advisory lock held on its own connection."""

    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._conn: Any = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.still_held()
        conn = self.engine.connect()
        try:
            got = bool(
                conn.execute(
                    text(f"SELECT pg_try_advisory_lock(:k, {_SCHEMA_KEY})"), {"k": self.key}
                ).scalar()
            )
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            self._conn = conn
            log.info("leader: acquired advisory lock key=%d", self.key)
        else:
            conn.close()
        return got

    def still_held(self) -> bool:
        """False when the lock's connection broke (the server would have released the lock)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            log.warning("leader: lost the database session holding the lock; stepping down")
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(
                text(f"SELECT pg_advisory_unlock(:k, {_SCHEMA_KEY})"), {"k": self.key}
            )
            self._conn.commit()
        except Exception:  # the session is going away anyway, which releases the lock
            log.debug("leader: unlock failed", exc_info=True)
        self._drop()

    def _drop(self) -> None:
        try:
            self._conn.close()
        except Exception:  # already broken
            log.debug("leader: close failed", exc_info=True)
        self._conn = None


def leadership(engine: Engine, db_url: str, key: int) -> Leadership:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, key)
    return FileLock(db_url)


@contextmanager
def migration_lock(engine: Engine, key: int) -> Iterator[None]:
    """Replicas starting together migrate one after another (PostgreSQL); SQLite needs nothing
    more, as its write lock already serialises the migration transaction."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text(f"SELECT pg_advisory_lock(:k, {_SCHEMA_KEY})"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock(:k, {_SCHEMA_KEY})"), {"k": key})
            conn.commit()
