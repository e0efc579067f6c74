"""Named crash points for the crash-safety tests (nothing may be lost or sent twice at any of them).

`OFSTED_WATCH_FAILPOINT=after_send` makes the process SIGKILL itself when it reaches that point,
the way a power cut or the OOM killer would; `after_send:2` waits for the second time it is
reached (a kill in the middle of a batch). Unset (always, in production) it costs one dict
lookup. Points: after_detect, after_commit, after_claim, before_send, after_send, and
after_webhook_send / after_email_send (channels send concurrently, so counting sends is only
deterministic within one channel type).
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "OFSTED_WATCH_FAILPOINT"
_lock = threading.Lock()
_hits: dict[str, int] = {}


def parse(spec: str) -> tuple[str, int]:
    """'after_send:2' -> ('after_send', 2); a bare name means its first hit."""
    name, _, count = spec.partition(":")
    return name.strip(), int(count) if count.strip().isdigit() else 1


def hit(name: str) -> None:
    """Die at once (SIGKILL, no cleanup) when this point is the configured one, on its n-th hit."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    wanted, nth = parse(spec)
    if wanted != name:
        return
    with _lock:  # sources are polled in threads; count each hit exactly once
        _hits[name] = _hits.get(name, 0) + 1
        due = _hits[name] == nth
    if due:
        os.kill(os.getpid(), signal.SIGKILL)
