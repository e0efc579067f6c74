"""Leader election: a file lock per SQLite database, an advisory lock on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from scraper.errors import AlreadyRunningError
from scraper.run.leader import AdvisoryLock, FileLock, leadership
from scraper.store.db import make_engine

KEY = 424_242


def test_file_lock_refuses_a_second_holder_naming_the_file(tmp_path: Path) -> None:
    """The second lock on one SQLite file raises with the file and the holder's pid; after a
    release it can be taken again."""
    url = f"sqlite:///{tmp_path}/ow.db"
    first, second = FileLock(url), FileLock(url)
    assert first.try_acquire() and first.still_held()
    with pytest.raises(AlreadyRunningError, match=rf"pid \d+.*{tmp_path}/ow\.db"):
        second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_leadership_picks_the_lock_by_dialect(tmp_path: Path) -> None:
    """SQLite gets a file lock; a PostgreSQL engine an advisory lock."""
    url = f"sqlite:///{tmp_path}/ow.db"
    assert isinstance(leadership(make_engine(url), url, KEY), FileLock)
    pg = "postgresql+psycopg://postgres@127.0.0.1:1/x"
    assert isinstance(leadership(make_engine(pg), pg, KEY), AdvisoryLock)


@pytest.mark.postgres
def test_advisory_lock_elects_one_and_hands_over_on_release(pg_url: str) -> None:
    """Of two contenders one holds the lock; when it releases, the other takes it."""
    one, two = AdvisoryLock(make_engine(pg_url), KEY), AdvisoryLock(make_engine(pg_url), KEY)
    try:
        assert one.try_acquire() is True
        assert two.try_acquire() is False
        assert one.try_acquire() is True and one.still_held()
        one.release()
        assert two.try_acquire() is True
    finally:
        one.release()
        two.release()


@pytest.mark.postgres
def test_advisory_lock_steps_down_when_its_session_dies(pg_url: str) -> None:
    """A holder whose database session is killed notices (still_held False) and a standby
    takes over: the server released the lock with the session."""
    engine = make_engine(pg_url)
    one, two = AdvisoryLock(engine, KEY + 1), AdvisoryLock(make_engine(pg_url), KEY + 1)
    try:
        assert one.try_acquire()
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND classid = :k "
                    "AND objid::text::bigint = (hashtext(current_schema())::bigint & 4294967295)"
                ),
                {"k": KEY + 1},
            )
            conn.commit()
        assert one.still_held() is False
        assert two.try_acquire() is True
    finally:
        one.release()
        two.release()
