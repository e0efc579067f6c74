"""Crash safety: `python -m scraper fetch` is SIGKILLed at named
points (OFSTED_WATCH_FAILPOINT), then `fetch` runs again once the 1 s lease has expired.

Nothing is lost: every detection reaches every channel. A webhook is repeated at most once and
only with the same webhook-id; an email is repeated at most once, with the same Message-ID, and
only when the kill came after an email was sent and before its row was marked.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests import test_alerts_e2e as e2e
from tests.test_alerts_e2e import World, run

world = e2e.world  # the e2e fixture: feed server, webhook receiver and aiosmtpd

ROOT = Path(__file__).resolve().parent.parent
DETECTIONS = 4  # the Google News fixture holds four stories about watched councils

# (failpoint, extra webhook deliveries, extra emails). The webhook and email channels send
# concurrently, so the mid-batch and email cases count sends within one channel type.
CASES = [
    ("after_detect", 0, 0),  # detections found, transaction not committed
    ("after_commit", 0, 0),  # detections and alert rows committed, nothing claimed
    ("after_claim", 0, 0),  # rows leased, nothing sent
    ("before_send", 0, 0),  # about to POST the first alert
    ("after_webhook_send", 1, 0),  # first webhook sent, not marked
    ("after_webhook_send:2", 1, 0),  # mid-batch: the second webhook sent, not marked
    ("after_email_send", 0, 1),  # the first email sent, not marked
]


def crash_fetch(config: Path, failpoint: str) -> None:
    """Run `fetch` in a child process that SIGKILLs itself at `failpoint`."""
    env = {**os.environ, "OFSTED_WATCH_FAILPOINT": failpoint}
    done = subprocess.run(
        [sys.executable, "-m", "scraper", "--config", str(config), "-q", "fetch"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def message_ids(world: World) -> Counter[str]:
    return Counter(
        str(email.message_from_bytes(e.original_content, policy=email.policy.default)["Message-ID"])
        for e in world.smtp.envelopes
    )


def check_crash(world: World, storage: str | None, failpoint: str, hooks: int, mails: int) -> str:
    config = world.config(world.webhook("hook") + world.email("mail"), feeds=("google",),
                          storage=storage)  # fmt: skip
    assert run(config, "-q", "fetch") == 0  # the silent baseline
    world.publish()
    crash_fetch(config, failpoint)
    time.sleep(1.2)  # let the 1 s lease of any claimed row expire
    assert run(config, "-q", "fetch") == 0
    webhook_ids = world.rx.ids("/hook")
    mail_ids = message_ids(world)
    figures = (
        f"[crash {failpoint}] deliveries per alert -> how many alerts: "
        f"webhook {dict(Counter(webhook_ids.values()))}, email {dict(Counter(mail_ids.values()))}"
    )
    assert len(webhook_ids) == DETECTIONS and len(mail_ids) == DETECTIONS, "nothing lost"
    assert max(webhook_ids.values()) <= 2 and max(mail_ids.values()) <= 2
    assert sum(webhook_ids.values()) - DETECTIONS == hooks
    assert sum(mail_ids.values()) - DETECTIONS == mails
    posts = world.rx.posts("/hook")
    bodies: dict[str, set[bytes]] = {}
    for post in posts:
        bodies.setdefault(post.headers["webhook-id"], set()).add(post.body)
    assert all(len(b) == 1 for b in bodies.values()), "a repeat is the same event, byte for byte"
    assert run(config, "-q", "fetch") == 0
    assert len(world.rx.posts("/hook")) == len(posts), "a later run sends nothing more"
    return figures


@pytest.mark.parametrize(("failpoint", "hooks", "mails"), CASES)
def test_sigkill_at_failpoint_loses_nothing_sqlite(
    world: World, failpoint: str, hooks: int, mails: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """On SQLite, a SIGKILL at each crash point loses no alert and repeats at most one."""
    figures = check_crash(world, None, failpoint, hooks, mails)
    with capsys.disabled():
        print("\n" + figures)


@pytest.mark.postgres
@pytest.mark.parametrize(("failpoint", "hooks", "mails"), [CASES[1], CASES[5], CASES[6]])
def test_sigkill_at_failpoint_loses_nothing_postgresql(
    world: World,
    pg_url: str,
    failpoint: str,
    hooks: int,
    mails: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On PostgreSQL, kills after commit, mid-batch and after an email lose nothing."""
    figures = check_crash(world, pg_url, failpoint, hooks, mails)
    with capsys.disabled():
        print("\n" + figures + " (PostgreSQL)")
