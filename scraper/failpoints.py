"""Named crash points for the crash-safety tests (reliability.md 1).

`OFSTED_WATCH_FAILPOINT=after_send` makes the process SIGKILL itself when it reaches that point,
the way a power cut or the OOM killer would. Unset (always, in production) it costs one dict
lookup. Points: after_detect, after_commit, after_claim, before_send, after_send.
"""

from __future__ import annotations

import os
import signal

ENV = "OFSTED_WATCH_FAILPOINT"


def hit(name: str) -> None:
    """Die at once (SIGKILL, no cleanup) when this point is the one configured."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
