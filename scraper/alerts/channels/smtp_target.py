"""An email channel's target as a plain value, apart from the SMTP code that sends to it.

Channels are built when the configuration loads; keeping the value here means a `fetch` whose
alerts all go to webhooks never imports smtplib and the email stack.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

SECURITY = ("none", "starttls", "tls")


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """One `type = "email"` channel."""

    name: str
    host: str
    port: int
    security: str  # none | starttls | tls
    username: str | None = field(repr=False)
    password: str | None = field(repr=False)
    sender: str
    to: tuple[str, ...]
    ca_file: str | None = None  # extra trusted CA (PEM), e.g. a private relay's
    timeout: float = 30.0
    list_id: str = "ofsted-watch"
    unsubscribe: str | None = None  # https URL (one-click) or mailto:/address
    helo: str | None = None  # EHLO name; None lets smtplib use the FQDN

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ValueError(f"alert {self.name}: security must be one of {', '.join(SECURITY)}")
        if self.security == "none" and not is_loopback(self.host):
            raise ValueError(
                f'alert {self.name}: security = "none" sends mail in plaintext and is only '
                f'allowed to localhost; use "starttls" or "tls" for {self.host}'
            )
        if not self.to:
            raise ValueError(f"alert {self.name}: no recipients")
        if not 0 < self.port < 65536:
            raise ValueError(f"alert {self.name}: bad port {self.port}")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP literals (where plaintext SMTP is tolerable)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
