"""A loopback webhook receiver for the alert tests: records every POST (headers and body) and
answers from a per-path script (e.g. 503 three times, then 200), built on `LocalServer`.

Usage::

    with Receiver() as rx:
        url = rx.hook("/json", 503, 503, 503)  # then 200 for ever
        ...
        assert [p.headers["webhook-id"] for p in rx.posts("/json")] == [mid] * 4
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from tests import payloadcheck
from tests.httpserver import LocalServer, Request, Response

Reply = int | Response


class Receiver:
    """A running LocalServer whose hooks answer scripted replies, then 200 "ok"."""

    def __init__(self) -> None:
        self.server = LocalServer()
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Response]] = {}
        self.invalid: list[str] = []  # JSON webhook bodies that broke the published schema

    def __enter__(self) -> Receiver:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()
        # Every payload the tests produce must match the schema published for receivers.
        assert not self.invalid, "\n".join(self.invalid)

    def hook(self, path: str, *replies: Reply) -> str:
        """Register `path`; it answers `replies` in order (ints are bare statuses), then 200."""
        with self._lock:
            self._scripts[path] = [_response(r) for r in replies]
        self.server.route(path, self._answer)
        return self.server.url(path)

    def script(self, path: str, *replies: Reply) -> None:
        """Queue more replies for an existing hook."""
        with self._lock:
            self._scripts[path].extend(_response(r) for r in replies)

    def _answer(self, request: Request) -> Response:
        self._validate(request)
        with self._lock:
            script = self._scripts.get(request.path.split("?", 1)[0], [])
            return script.pop(0) if script else Response(body=b"ok")

    def _validate(self, request: Request) -> None:
        """Check a `format = "json"` body (an object with type, timestamp and data)."""
        try:
            document = json.loads(request.body)
        except ValueError:
            return
        if isinstance(document, dict) and {"type", "timestamp", "data"} <= document.keys():
            problems = payloadcheck.errors(document)
            with self._lock:
                self.invalid.extend(f"{request.path}: {p}" for p in problems)

    def posts(self, path: str | None = None) -> list[Request]:
        """The POSTs received (on `path`, or on every hook), oldest first."""
        return [
            e.request
            for e in self.server.log
            if e.method == "POST" and (path is None or e.path == path)
        ]

    def ids(self, path: str) -> Counter[str]:
        """How many times each webhook-id arrived on `path`."""
        return Counter(p.headers["webhook-id"] for p in self.posts(path))

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> None:
        """Wait until at least `count` POSTs arrived (for senders in another process)."""
        deadline = time.monotonic() + timeout
        while len(self.posts(path)) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def _response(reply: Reply) -> Response:
    return Response(status=reply, body=b"nope") if isinstance(reply, int) else reply


def spec_verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, tolerance: int = 300
) -> bool:
    """A Standard Webhooks v1 verifier written from the spec, independent of our signing code:
    base64 HMAC-SHA256 over "{id}.{timestamp}.{body}", key = base64 after `whsec_`, timestamp
    within ±tolerance, any of the space-separated `v1,` signatures may match (constant time)."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, msg_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256)
    expected = base64.b64encode(mac.digest())
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return True
    return False


def body_json(request: Request) -> Any:
    return json.loads(request.body)
