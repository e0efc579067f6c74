"""Canonical URLs and story keys: one article, one identity, whatever tracking a feed adds.

Feeds decorate links (`?utm_source=rss`, `?ref=rss`, `?oc=5`, `#comments`), and the same story
reaches us over http and https, with and without `www.`. Dedup and alert identity depend on
collapsing those variants, so the rules live here, in one pure module.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Parameters that identify a campaign or click, never the document.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "mkt_tok",
        "cmpid",
        "cmp",
        "icid",
        "ito",
        "ncid",
        "oc",
        "__twitter_impression",
        "sr_share",
        "spm",
        "rss",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_")
# `ref` names a page on some sites; only these values mark it as feed/social tracking.
TRACKING_REF_VALUES = frozenset({"rss", "rss_feed", "rssfeed", "feed", "twitter", "facebook"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_WHITESPACE = re.compile(r"\s+")


def _is_tracking(name: str, value: str) -> bool:
    key = unquote_plus(name).strip().lower()
    if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
        return True
    return key == "ref" and unquote_plus(value).strip().lower() in TRACKING_REF_VALUES


def _clean_query(query: str) -> str:
    """Drop tracking pairs and sort the rest, keeping each pair's original encoding."""
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if not _is_tracking(name, value):
            pairs.append(part)
    return "&".join(sorted(pairs))


def _netloc(scheme: str, netloc: str) -> str:
    """Lower-case host without userinfo or the scheme's default port."""
    hostport = netloc.rpartition("@")[2].lower()
    host, sep, port = hostport.rpartition(":")
    if not sep or "]" in port:  # no port, or an IPv6 literal without one
        return hostport.rstrip(".")
    if not port or (port.isdigit() and int(port) == DEFAULT_PORTS.get(scheme)):
        return host.rstrip(".")
    return f"{host.rstrip('.')}:{port}"


def canonical_url(url: str) -> str:
    """The URL with case, default port, fragment, trailing slash and tracking noise removed.

    The scheme is kept (http and https may really differ); use `story_key` to compare stories.
    """
    text = url.strip()
    if not text:
        return ""
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return text
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, _netloc(scheme, parts.netloc), path, _clean_query(parts.query), ""))


def story_key(url: str) -> str:
    """A key shared by the http/https, www/no-www, slash and tracking variants of one article."""
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    if parts.scheme not in DEFAULT_PORTS:
        return canonical
    host = parts.netloc.removeprefix("www.")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{parts.path}{query}"


def content_hash(*parts: str) -> str:
    """A stable hex digest of text parts, insensitive to whitespace layout."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(_WHITESPACE.sub(" ", part).strip().encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()
