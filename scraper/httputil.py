"""Pure HTTP helpers shared by the fetch layer and the webhook sender (no I/O here)."""

from __future__ import annotations

import codecs
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

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
