"""A small threaded HTTP/1.1 loopback server for tests that need real HTTP.

Usage::

    from tests.httpserver import LocalServer, Response

    with LocalServer() as server:
        server.route("/feed.atom", Response.file("govuk/ofsted_org.atom"))
        server.route("/flaky", fail_then(2, Response(body=b"ok")))
        fetcher.get(server.url("/feed.atom"))
        assert server.log[0].headers["user-agent"].startswith("ofsted-watch")

Routes match the exact path plus query first, then the path alone; anything else is a 404.
A route is a `Response`, or a callable taking the `Request` and returning one (for dynamic
behaviour: ETags and 304s, failing N times, drips). Every request is logged with monotonic
start/end times, and `max_concurrency` records how many were in flight at once.

Other test modules get the pytest fixture with `from tests.httpserver import local_server`.
Nagle is disabled and every response is one write (or chunked), so keep-alive requests do not
suffer the 40 ms delayed-ACK artefact of the stock server.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Request:
    """What the server received (header names lower-case)."""

    method: str
    path: str  # path plus query, as sent
    headers: Mapping[str, str]
    body: bytes
    client: tuple[str, int]
    started: float  # time.monotonic() when the request line was read


@dataclass
class LoggedRequest:
    """A request as logged: appended when it arrives, `status`/`ended` set just before the
    last byte of the response is written, so a client that has its answer sees a full entry."""

    request: Request
    status: int = 0
    ended: float | None = None

    # Shortcuts so tests read `server.log[0].path`.
    @property
    def method(self) -> str:
        return self.request.method

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers

    @property
    def started(self) -> float:
        return self.request.started


@dataclass(frozen=True)
class Response:
    """A canned response. `body` as bytes is sent with Content-Length; an iterable of chunks
    is sent chunked, pausing `chunk_interval` seconds before each chunk (a slow drip)."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    delay: float = 0.0  # seconds before the status line is sent
    chunk_interval: float = 0.0

    @classmethod
    def file(cls, relative: str, *, content_type: str | None = None, **kw: Any) -> Response:
        """A fixture file under tests/fixtures as the body."""
        headers = dict(kw.pop("headers", {}))
        if content_type:
            headers.setdefault("Content-Type", content_type)
        return cls(body=(FIXTURES / relative).read_bytes(), headers=headers, **kw)

    @classmethod
    def drip(cls, body: bytes, interval: float, **kw: Any) -> Response:
        """Send `body` one byte at a time, `interval` seconds apart (chunked)."""
        return cls(body=[body[i : i + 1] for i in range(len(body))], chunk_interval=interval, **kw)


Route = Response | Callable[[Request], Response]


def fail_then(failures: int, ok: Response, *, status: int = 503, **kw: Any) -> Route:
    """A route answering `status` for the first `failures` requests, then `ok`."""
    lock = threading.Lock()
    seen = [0]

    def respond(_request: Request) -> Response:
        with lock:
            seen[0] += 1
            count = seen[0]
        return Response(status=status, **kw) if count <= failures else ok

    return respond


class LocalServer:
    """A ThreadingHTTPServer on `host`, port 0, run in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", *, latency: float = 0.0) -> None:
        self.host = host
        self.latency = latency  # added before every response, on top of Response.delay
        self.routes: dict[str, Route] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._httpd = _Server((host, 0), _Handler, self)
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving; drips in progress end at their next chunk."""
        self.stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def route(self, path: str, response: Route) -> None:
        """Answer `path` (exact; include `?query` to match a query too) with `response`."""
        self.routes[path] = response

    @property
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def paths(self) -> list[str]:
        return [entry.path for entry in self.log]

    @property
    def max_concurrency(self) -> int:
        with self._lock:
            return self._max_in_flight

    def _resolve(self, request: Request) -> Response:
        route = self.routes.get(request.path) or self.routes.get(request.path.split("?", 1)[0])
        if route is None:
            return Response(status=404, body=b"not found")
        return route if isinstance(route, Response) else route(request)

    def _enter(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self, entry: LoggedRequest, status: int) -> None:
        with self._lock:
            if entry.ended is None:
                entry.status, entry.ended = status, time.monotonic()
                self._in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, owner: LocalServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-response (as a capped fetch does) is normal here."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _entry: LoggedRequest

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        owner = self.server.owner
        entry = LoggedRequest(self._request(time.monotonic()))
        owner._enter(entry)
        self._entry = entry
        status = 0
        try:
            response = owner._resolve(entry.request)
            status = response.status
            pause = owner.latency + response.delay
            if pause:
                owner.stopping.wait(pause)
            self._send(response, head=self.command == "HEAD")
        except ConnectionError:
            self.close_connection = True
        finally:
            owner._leave(entry, status)  # no-op when _last_write already marked it

    def _last_write(self, data: bytes, status: int) -> None:
        """Mark the request answered, then write its final bytes."""
        self.server.owner._leave(self._entry, status)
        self.wfile.write(data)

    def _request(self, started: float) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        return Request(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            client=self.client_address[:2],
            started=started,
        )

    def _send(self, response: Response, *, head: bool) -> None:
        headers = {k.title(): v for k, v in response.headers.items()}
        chunked = not isinstance(response.body, bytes | bytearray)
        if chunked:
            headers.setdefault("Transfer-Encoding", "chunked")
        else:
            headers.setdefault("Content-Length", str(len(response.body)))  # type: ignore[arg-type]
        lines = [f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if head or response.status in (204, 304):
            self._last_write(head_bytes, response.status)
        elif chunked:
            self.wfile.write(head_bytes)
            self._send_chunks(response.body, response.chunk_interval)  # type: ignore[arg-type]
            self._last_write(b"0\r\n\r\n", response.status)
        else:
            self._last_write(head_bytes + bytes(response.body), response.status)  # type: ignore[arg-type]

    def _send_chunks(self, chunks: Iterable[bytes], interval: float) -> None:
        stopping = self.server.owner.stopping
        for chunk in _nonempty(chunks):
            if interval and stopping.wait(interval):
                raise ConnectionAbortedError("server stopping")
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def _nonempty(chunks: Iterable[bytes]) -> Iterator[bytes]:
    return (chunk for chunk in chunks if chunk)


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A started LocalServer on 127.0.0.1, closed after the test."""
    with LocalServer() as server:
        yield server
