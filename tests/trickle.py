"""A raw loopback peer that answers a byte at a time: a status line or an SMTP banner trickled
slowly enough that no per-read timeout ever trips, so only a deadline on the whole exchange
cuts it. Built on plain sockets, since a real server cannot be made to misbehave this way."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class Trickler:
    """Accepts connections; on each, optionally reads the request, then sends `reply` one byte
    every `interval` seconds until done or the client goes away."""

    def __init__(self, reply: bytes, *, interval: float = 0.2, read_first: bool = True) -> None:
        self.reply = reply
        self.interval = interval
        self.read_first = read_first
        self.accepted: list[float] = []  # time.monotonic() of each connection
        self.closed = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Trickler:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(time.monotonic())
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            if self.read_first:
                try:
                    conn.recv(65536)
                except OSError:
                    pass
            for byte in self.reply:
                if self._stop.wait(self.interval):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the client cut the exchange
                    self.closed.set()
                    return
