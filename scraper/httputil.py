"""Pure HTTP helpers shared by the fetch layer and the webhook sender (no I/O here)."""

from __future__ import annotations

import codecs
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
_META = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now (delta-seconds or an HTTP-date, never negative)."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now.timestamp() if now else time.time()
    return max(0.0, when.timestamp() - current)


# Query parameters that carry a credential by name (lower-cased; "-" read as "_"). A feed URL
# such as ".../feed?api_key=..." is a secret as much as a password in "user:pass@".
SECRET_PARAMS = frozenset(
    {
        "token", "access_token", "auth_token", "refresh_token", "id_token", "private_token",
        "key", "api_key", "apikey", "app_key", "access_key", "secret", "client_secret",
        "password", "passwd", "pwd", "pass", "sig", "signature", "auth", "authorization",
        "session", "sessionid", "code", "x_amz_signature", "x_amz_credential",
        "x_amz_security_token",
    }
)  # fmt: skip
REDACTED = "***"


def redact_url(url: str) -> str:
    """`url` safe to show or store: user:password@ and credential-like query values hidden.

    The full URL is kept only in memory for the request itself; everything that logs, prints
    or stores a source URL passes it through here first.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_secret(name) for name, _ in pairs):
            query = "&".join(
                f"{quote(name, safe='')}={REDACTED if _is_secret(name) else quote(value, safe='')}"
                for name, value in pairs
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_SECRET_IN_TEXT = re.compile(
    r"(?P<lead>[?&;](?P<name>[A-Za-z0-9_-]{1,40})=)(?P<value>[^&;\s'\"<>)]*)"
)
_USERINFO_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"<>]+@")


def redact_text(text: str) -> str:
    """Free text (an error from a library, a log line) with URL credentials hidden in it.

    Libraries quote the URL they failed on ("Max retries exceeded with url: /feed?token=..."),
    so an error message is redacted as a whole, not only the URL we pass in.
    """

    def query(m: re.Match[str]) -> str:
        return m.group("lead") + REDACTED if _is_secret(m.group("name")) else m.group(0)

    text = _USERINFO_IN_TEXT.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _SECRET_IN_TEXT.sub(query, text)


def _is_secret(name: str) -> bool:
    return name.lower().replace("-", "_") in SECRET_PARAMS


def strip_userinfo(url: str) -> str:
    """`url` without its user:password@ part (a link resolved against a feed URL inherits it)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def sniff_encoding(content_type: str, body: bytes) -> str | None:
    """The charset from Content-Type, else a BOM, XML declaration or HTML meta; else None."""
    declared = _CHARSET.search(content_type)
    candidates = [declared.group(1)] if declared else []
    candidates += [name for bom, name in _BOMS if body.startswith(bom)][:1]
    head = body[:4096]
    found = _XML_DECL.match(head) or _META.search(head)
    if found:
        candidates.append(found.group(1).decode("ascii"))
    for name in candidates:
        try:
            codecs.lookup(name)
        except LookupError:
            continue
        return name.lower()
    return None
