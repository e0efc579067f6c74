"""One error tree. Each error carries its context and the exit code the CLI maps it to."""

from __future__ import annotations

from datetime import datetime

from scraper.httputil import redact_text, redact_url


class ScraperError(Exception):
    """Base of every error ofsted-watch raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(ScraperError):
    """A configuration problem: one line naming the file, the key and the reason."""

    exit_code = 2

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file = file
        self.key = key
        self.reason = reason
        super().__init__(f"{file}: {key}: {reason}" if key else f"{file}: {reason}")


class FetchError(ScraperError):
    """An HTTP fetch failed; `status` is None for connection-level failures."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        # Shown and stored (logs, summaries, last_error): credentials in the URL never are.
        self.url = redact_url(url)
        self.reason = redact_text(reason)
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{self.url}: {self.reason}")


class HostUnreachableError(FetchError):
    """The host could not be reached at all: its name did not resolve, or nothing answered."""


class HostDeferredError(FetchError):
    """The host asked us (Retry-After) to stay away until `until`; `asked` is False when this
    request was not sent at all because an earlier answer, in this run or a past one, said so."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        host: str,
        until: datetime,
        asked: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(url, reason, status=status, retry_after=retry_after)
        self.host = host
        self.until = until
        self.asked = asked


class TooLargeError(FetchError):
    """The response body exceeded max_bytes (decoded)."""


class RobotsDisallowedError(FetchError):
    """robots.txt forbids this URL for our User-Agent."""


class BlockedAddressError(FetchError):
    """The URL resolves to a loopback/private/link-local address and that is not allowed."""


class ParseError(ScraperError):
    """A response could not be read as what the source expects (not a feed, changed HTML)."""

    def __init__(self, source: str, url: str, reason: str) -> None:
        self.source = source
        self.url = redact_url(url)
        self.reason = redact_text(reason)
        super().__init__(f"{source}: {self.url}: {self.reason}")


class StoreError(ScraperError):
    """The database refused an operation (locked, unreachable, schema too new)."""


class AlreadyRunningError(ScraperError):
    """Another daemon already holds this database."""


class DeliveryError(ScraperError):
    """An alert could not be handed to its channel."""
