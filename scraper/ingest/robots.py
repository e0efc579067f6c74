"""robots.txt rules per RFC 9309, as pure functions of the file's text (no HTTP here).

Python 3.11's `urllib.robotparser` applies the first matching rule, so `Disallow: /reports`
followed by `Allow: /reports/public` wrongly refuses `/reports/public/x`. RFC 9309 says the
longest matching pattern wins and Allow wins a tie; this module does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309 §2.5: parse at least 500 KiB, ignore the rest
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")


@dataclass(frozen=True, slots=True)
class Rule:
    """One Allow or Disallow line."""

    allow: bool
    pattern: str  # normalised path pattern; may hold `*` and a final `$`


@dataclass(frozen=True, slots=True)
class Group:
    """The rules that apply to the user-agents named at the head of a group."""

    agents: tuple[str, ...]  # lower-case product tokens, `*` for everyone
    rules: tuple[Rule, ...] = ()
    crawl_delay: float | None = None


@dataclass(frozen=True, slots=True)
class Robots:
    """A parsed robots.txt. `Robots()` allows everything (what a 4xx means)."""

    groups: tuple[Group, ...] = ()
    sitemaps: tuple[str, ...] = ()
    disallow_all: bool = False  # set for an unreachable robots.txt (5xx, connection error)
    reason: str = ""  # why it is unreachable, for the error the user sees

    def can_fetch(self, user_agent: str, url: str) -> bool:
        """True when `url` (absolute, or a path) may be fetched by `user_agent`."""
        if self.disallow_all:
            return False
        path = _path_of(url)
        if path == "/robots.txt":
            return True
        best: Rule | None = None
        for rule in _rules_for(self.groups, product_token(user_agent)):
            if _matches(rule.pattern, path) and _better(rule, best):
                best = rule
        return best is None or best.allow

    def crawl_delay(self, user_agent: str) -> float | None:
        """The Crawl-delay of the group that applies to `user_agent`, if any."""
        delays = [
            g.crawl_delay
            for g in _groups_for(self.groups, product_token(user_agent))
            if g.crawl_delay is not None
        ]
        return max(delays) if delays else None


def parse_robots(text: str | bytes) -> Robots:
    """Parse robots.txt text leniently: unknown lines are skipped, never fatal."""
    if isinstance(text, bytes):
        text = text[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
    groups: list[Group] = []
    sitemaps: list[str] = []
    agents: list[str] = []
    rules: list[Rule] = []
    delay: float | None = None
    in_rules = False  # a user-agent line after rules starts a new group
    for key, value in _lines(text):
        if key == "sitemap":
            sitemaps.append(value)
        elif key == "user-agent":
            if in_rules:
                groups.append(Group(tuple(agents), tuple(rules), delay))
                agents, rules, delay, in_rules = [], [], None, False
            agents.append(value.lower())
        elif agents and key in ("allow", "disallow"):
            in_rules = True
            if value:  # an empty Disallow allows everything: no rule
                rules.append(Rule(allow=key == "allow", pattern=_normalise(value)))
        elif agents and key == "crawl-delay":
            in_rules = True
            delay = _float_or_none(value)
    if agents:
        groups.append(Group(tuple(agents), tuple(rules), delay))
    return Robots(groups=tuple(groups), sitemaps=tuple(sitemaps))


def product_token(user_agent: str) -> str:
    """`ofsted-watch/0.1 (+https://...)` -> `ofsted-watch`, the name robots.txt groups use."""
    token = user_agent.strip().split("/", 1)[0].split(" ", 1)[0]
    return token.lower() or "*"


def _lines(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if sep:
            out.append((key.strip().lower(), value.strip()))
    return out


def _float_or_none(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    return delay if delay >= 0 else None


def _groups_for(groups: tuple[Group, ...], token: str) -> list[Group]:
    """Groups naming our product token; else the `*` groups (RFC 9309 §2.2.1, merged)."""
    named = [g for g in groups if any(a != "*" and _agent_matches(a, token) for a in g.agents)]
    return named or [g for g in groups if "*" in g.agents]


def _agent_matches(agent: str, token: str) -> bool:
    # RFC 9309 wants an exact token match; also accept `ofsted-watch/0.1` style lines.
    return agent == token or agent.split("/", 1)[0].strip() == token


def _rules_for(groups: tuple[Group, ...], token: str) -> list[Rule]:
    return [rule for group in _groups_for(groups, token) for rule in group.rules]


def _better(rule: Rule, best: Rule | None) -> bool:
    """Longest pattern wins; on a tie Allow wins (RFC 9309 §2.2.2)."""
    if best is None:
        return True
    if len(rule.pattern) != len(best.pattern):
        return len(rule.pattern) > len(best.pattern)
    return rule.allow and not best.allow


def _matches(pattern: str, path: str) -> bool:
    return _compile(pattern).match(path) is not None


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + (r"\Z" if anchored else ""), re.DOTALL)


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _normalise(path)


def _normalise(value: str) -> str:
    """Percent-encode non-ASCII as UTF-8 and upper-case escapes so both sides compare alike."""
    encoded = "".join(
        ch if ord(ch) < 128 else "".join(f"%{b:02X}" for b in ch.encode("utf-8")) for ch in value
    )
    return _PERCENT.sub(lambda m: m.group(0).upper(), encoded)
