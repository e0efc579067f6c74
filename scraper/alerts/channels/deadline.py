"""A wall-clock limit on a whole network exchange: connect, status line or banner, headers, body.

Socket timeouts bound each read, so a peer that answers a byte a second never trips them and can
hold a send for minutes. `Deadline` shuts the exchange's sockets down when its time is up; the
blocked read then fails at once and the channel reports a timeout. Sockets are learnt from the
interpreter's `socket.connect` audit event in the thread that opened the deadline (HTTP clients
connect deep inside their libraries), or handed in with `watch` (a reused SMTP connection).
"""

from __future__ import annotations

import socket
import sys
import threading
from types import TracebackType
from typing import Any

_local = threading.local()


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        deadline = getattr(_local, "deadline", None)
        if deadline is not None and isinstance(args[0], socket.socket):
            deadline.watch(args[0])


sys.addaudithook(_on_audit)


class Deadline:
    """`with Deadline(15):` cuts every socket the block connects (or `watch`es) after 15 s."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._fds: set[int] = set()
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _local.deadline = self
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop watching; called before the sockets are closed, so a number the kernel hands
        to another connection afterwards is never shut down by mistake."""
        with self._lock:
            self._done = True
        self._timer.cancel()
        if getattr(_local, "deadline", None) is self:
            _local.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        """Cut this socket too at the deadline (by descriptor: TLS wraps replace the object)."""
        fd = sock.fileno() if sock is not None else -1
        if fd >= 0:
            with self._lock:
                self._fds.add(fd)

    def _cut(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for fd in self._fds:
                _shutdown(fd)


def _shutdown(fd: int) -> None:
    """Shut a connection down by descriptor without closing it (its owner still will)."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its peer
    finally:
        sock.detach()
