"""A single slot for CPU-bound parsing shared by every polling thread.

Sources are polled by many threads so that slow hosts overlap, but parsing is pure Python
under the GIL: when many threads parse at once they only trade the GIL back and forth.
Parsing one at a time while the others keep waiting on the network measured 9.3 s -> 7.0 s
for a 150-feed cycle (bench/poll_cycle.py --sources 150 --hosts 150) on 2 cores.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_SLOT = threading.BoundedSemaphore(1)


@contextmanager
def cpu_slot() -> Iterator[None]:
    """Hold the parsing slot for the duration of the block."""
    with _SLOT:
        yield
