"""Connection failures in plain words: what the user needs to hear from a wrapped exception.

Kept apart from fetch.py's request logic; a host that cannot be reached is reported as exactly
that ("connection refused", "its name does not resolve"), never as a robots.txt problem.
"""

from __future__ import annotations

import errno
import socket

import requests
import urllib3

_UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN})
_UNREACHABLE_CAUSES: tuple[
    tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...
] = (
    (ConnectionRefusedError, "connection refused"),
    ((socket.gaierror, urllib3.exceptions.NameResolutionError), "its name does not resolve (DNS)"),
    ((urllib3.exceptions.ConnectTimeoutError, requests.ConnectTimeout), "connection timed out"),
)


def connection_failure(host: str, exc: BaseException) -> tuple[str, bool]:
    """The cause of a connection-level failure in plain words, and whether nothing answered.

    requests wraps the real cause three or four levels deep (ConnectionError -> MaxRetryError
    -> NewConnectionError -> ConnectionRefusedError); a user needs the innermost one.
    """
    causes = _causes(exc)
    # Most specific first: urllib3's NewConnectionError subclasses ConnectTimeoutError.
    for kinds, what in _UNREACHABLE_CAUSES:
        if any(isinstance(c, kinds) for c in causes):
            return f"cannot reach {host}: {what}", True
    for cause in causes:
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE_ERRNOS:
            return f"cannot reach {host}: {cause.strerror or 'network unreachable'}", True
    if isinstance(exc, requests.ConnectionError) and "Failed to resolve" in str(exc):
        return f"cannot reach {host}: its name does not resolve (DNS)", True
    return f"{type(exc).__name__}: {exc}", False


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it wraps (cause, context, urllib3's `reason`, exception args)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        inner += list(current.args)
        todo += [e for e in inner if isinstance(e, BaseException)]
    return seen
