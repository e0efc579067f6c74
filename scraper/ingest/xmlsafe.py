"""The one door into feedparser: bytes in, no entity tricks, no file or network access.

feedparser 6.0.14 strips "unsafe" entities but keeps "safe" ones, and when expat gives up on a
quadratic blow-up it falls back to its loose parser, which expands the entity itself (56 KB of
input -> 316 MB, measured). So we refuse any body that declares an entity before feedparser
sees it, and install defusedxml's expat reader as a second layer for the strict parser.
feedparser also treats a str or bytes argument as a URL or a file name, so it only ever gets a
BytesIO from us, so a hostile feed cannot make us expand entities or open URLs.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Mapping
from typing import Any

DEFUSED_READER = "defusedxml.expatreader"
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class UnsafeXmlError(ValueError):
    """The document declares entities or external references; it is refused unparsed."""


def install_defused_parser() -> None:
    """Make feedparser's strict parser defusedxml's expat reader (idempotent, process-wide)."""
    import feedparser.api  # here, not at the top: the fast path (fastfeed.py) needs none of it

    preferred = feedparser.api.PREFERRED_XML_PARSERS
    if not preferred or preferred[0] != DEFUSED_READER:
        if DEFUSED_READER in preferred:
            preferred.remove(DEFUSED_READER)
        preferred.insert(0, DEFUSED_READER)


def _wide_text(body: bytes) -> bytes | None:
    """An ASCII-compatible view of a UTF-16/32 body, where a byte search would miss `<!ENTITY`."""
    for bom, encoding in _WIDE_BOMS:
        if body.startswith(bom):
            return body.decode(encoding, "ignore").encode("utf-8", "ignore")
    head = body[:4]
    if b"\x00" in head:
        for encoding in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"):
            text = body.decode(encoding, "ignore")
            if text.lstrip().startswith("<"):
                return text.encode("utf-8", "ignore")
    return None


def check_no_entities(body: bytes) -> None:
    """Raise UnsafeXmlError when the body declares any XML entity (in any encoding we read)."""
    views = [body]
    wide = _wide_text(body)
    if wide is not None:
        views.append(wide)
    for view in views:
        if _ENTITY_DECL.search(view):
            raise UnsafeXmlError("the document declares XML entities (<!ENTITY>); refused")


def parse_feed_bytes(body: bytes, headers: Mapping[str, str]) -> Any:
    """feedparser.parse on our bytes, after the entity check; returns its FeedParserDict.

    HTML sanitising and relative-URI resolution are off: we never render feed HTML (we reduce
    it to text) and resolve links ourselves, and it makes parsing 1.5-2.3x faster.
    """
    import feedparser
    from defusedxml import DefusedXmlException

    check_no_entities(body)
    install_defused_parser()
    try:
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=dict(headers),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except DefusedXmlException as exc:
        raise UnsafeXmlError(f"the document was refused by defusedxml: {exc}") from exc
