"""A raw-socket loopback HTTP server that can trickle its status line and headers.

`tests/httpserver.py` always writes a response head in one piece; the hostile case this one
plays is a server that sends even its status line a byte at a time, which per-read timeouts
never catch. Paths in `trickle` get their whole head byte by byte, `interval` seconds apart;
other paths in `routes` are answered at once; anything else is a 404. One request per
connection (`Connection: close`), which keeps the server simple and the client honest.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest


class TrickleServer:
    """Serves on 127.0.0.1, port 0, a thread per connection; `starts` logs (path, monotonic)."""

    def __init__(self, *, interval: float = 1.0) -> None:
        self.interval = interval
        self.routes: dict[str, bytes] = {}
        self.trickle: set[str] = set()
        self.starts: list[tuple[str, float]] = []
        self._stopping = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._sock.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            path = _read_path(conn)
            if path is None:
                return
            self.starts.append((path, time.monotonic()))
            body = self.routes.get(path)
            status = "200 OK" if body is not None else "404 Not Found"
            body = body if body is not None else b"not found"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode("ascii")
            try:
                if path in self.trickle:
                    self._drip(conn, head)
                conn.sendall(head + body)
            except OSError:
                return  # the client gave up, which is what the tests want to see

    def _drip(self, conn: socket.socket, head: bytes) -> None:
        """Send the head a byte at a time, forever (until the client leaves or we stop)."""
        while not self._stopping.is_set():
            for byte in head[:-2]:  # never the final CRLF: the head is never complete
                if self._stopping.wait(self.interval):
                    raise ConnectionAbortedError("server stopping")
                conn.sendall(bytes([byte]))
            head = b"X-Pad: " + b"." * 64 + b"\r\n\r\n"


def _read_path(conn: socket.socket) -> str | None:
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data:
        try:
            chunk = conn.recv(4096)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    request_line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    return parts[1] if len(parts) >= 2 else None


@pytest.fixture
def trickle_server() -> Iterator[TrickleServer]:
    """A started TrickleServer sending one byte a second on trickling paths."""
    with TrickleServer() as server:
        yield server
