"""Settings: what the rest of the program sees once the configuration has loaded.

Typed values only (durations as `timedelta`, the fetch policy as an `HttpPolicy`, enabled
sources and channels as frozen objects), so dispatch, the daemon and the CLI never read the
file's pydantic tree or parse a string again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import SecretStr

from scraper.alerts.channels import Channel
from scraper.models import Council, HttpPolicy
from scraper.settings.schema import (
    ChannelConfig,
    EmailChannelConfig,
    FeedSourceConfig,
    HtmlSourceConfig,
    OfstedSourceConfig,
    SourceConfig,
    WebhookChannelConfig,
    parse_duration,
)

__all__ = [
    "ChannelConfig",
    "DaemonSettings",
    "EmailChannelConfig",
    "FeedSourceConfig",
    "HtmlSourceConfig",
    "OfstedSourceConfig",
    "Settings",
    "SourceConfig",
    "WebhookChannelConfig",
    "parse_duration",
]


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """The [daemon] table: restart-only values (a reload keeps the old ones)."""

    listen: str
    alert_every: timedelta
    alert_lease: timedelta
    lock_id: int
    notify: tuple[str, ...] = ()  # channels told when a source starts or stops failing
    alert_wait: timedelta = timedelta(seconds=30)  # a one-off fetch waits for retries this long


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration with councils resolved against the register."""

    path: str
    storage_url: str
    http: HttpPolicy
    daemon: DaemonSettings
    watched: tuple[Council, ...]
    report_types: tuple[str, ...]
    channel_councils: Mapping[str, tuple[Council, ...] | None]  # channel name -> councils
    sources: tuple[SourceConfig, ...] = ()  # enabled ones, in file order
    channels: tuple[ChannelConfig, ...] = ()  # enabled ones as configured, in file order
    disabled_sources: tuple[SourceConfig, ...] = ()  # `test-source` may still try them
    aliases: Mapping[str, Council] = field(default_factory=dict)  # [watchlist] aliases
    source_councils: Mapping[str, tuple[Council, ...]] = field(default_factory=dict)  # by source
    alert_channels: tuple[Channel, ...] = ()  # enabled ones built to send, once at load
    web_token: SecretStr | None = None  # [web] token: asked of every web request but /healthz

    def http_policy(self) -> HttpPolicy:
        return self.http

    def source(self, name: str, *, enabled_only: bool = True) -> SourceConfig | None:
        """The source called `name`; disabled ones too when asked (test-source)."""
        pool = self.sources if enabled_only else (*self.sources, *self.disabled_sources)
        return next((s for s in pool if s.name == name), None)

    def channel(self, name: str) -> Channel | None:
        """The enabled channel called `name`, ready to send."""
        return next((c for c in self.alert_channels if c.name == name), None)
