"""The only code that sends: webhook and email channels, and the webhook body formats.

`Channel` is the one runtime shape of a configured `[[alerts]]` entry: its sending target, its
filters and its digest, built once when the configuration loads (`build_channels`). The TOML
schema lives with the settings; nothing downstream sees it. `CHANNEL_TYPES` maps a config `type`
to its target builder and `FORMATS` a webhook `format` to its renderer: plain dicts, so the set of
kinds is visible in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from scraper.alerts.channels.formats import FORMATS, render, sample_detection
from scraper.alerts.channels.signing import generate_secret, sign
from scraper.alerts.channels.smtp_target import SmtpTarget
from scraper.alerts.channels.webhook import WebhookTarget, send_webhook
from scraper.clock import Clock
from scraper.models import AlertPayload, Council, Delivery, Detection

if TYPE_CHECKING:  # the settings import this module to build channels; types only here
    from scraper.settings.config import EmailChannelConfig, WebhookChannelConfig

Target = WebhookTarget | SmtpTarget


@dataclass(frozen=True, slots=True)
class Channel:
    """One configured alert channel, ready to send: where, what it takes, and when."""

    name: str
    target: Target
    councils: tuple[Council, ...] | None = None  # None: the whole watchlist
    report_types: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    fallback: str | None = None  # another channel told when an alert here is given up
    digest: str | None = None  # "daily" or "weekly" for digest email channels
    digest_at: str = "08:00"  # HH:MM Europe/London

    @property
    def type(self) -> str:
        return "webhook" if isinstance(self.target, WebhookTarget) else "email"

    @property
    def timeout(self) -> float:
        """The wall-clock limit of one send: connect, answer and body together."""
        return self.target.timeout

    def wants(self, det: Detection) -> bool:
        """A channel takes a detection when every filter it sets lets it through."""
        if self.kinds is not None and det.kind not in self.kinds:
            return False
        if self.report_types is not None and det.report_type not in self.report_types:
            return False
        if self.councils is not None:
            codes = {c.gss_code for c in self.councils}
            return any(c.gss_code in codes for c in det.councils)
        return True

    def capped(self, seconds: float) -> Channel:
        """The same channel with its timeout cut to `seconds` (a quick `alerts test`)."""
        if self.timeout <= seconds:
            return self
        return replace(self, target=replace(self.target, timeout=seconds))

    def send_now(
        self, message_id: str, data: AlertPayload, *, now: Clock, event_type: str
    ) -> Delivery:
        """One message now, outside the queue, on its own connection (`alerts test`)."""
        if isinstance(self.target, WebhookTarget):
            return send_webhook(
                self.target, message_id, data, now=now, event_type=event_type, occurred=now()
            )
        from scraper.alerts.channels.email import SmtpSession, build_message

        with SmtpSession(self.target) as session:
            return session.send(build_message(self.target, message_id, [data], now=now()))


def webhook_target(cfg: WebhookChannelConfig, user_agent: str) -> WebhookTarget:
    return WebhookTarget(
        name=cfg.name,
        url=str(cfg.url),
        format=cfg.format,
        secret=cfg.secret.get_secret_value() if cfg.secret else None,
        allow_private=cfg.allow_private,
        timeout=cfg.timeout,
        user_agent=user_agent,
    )


def smtp_target(cfg: EmailChannelConfig, user_agent: str) -> SmtpTarget:
    return SmtpTarget(
        name=cfg.name,
        host=cfg.smtp_host,
        port=cfg.smtp_port,
        security=cfg.security,
        username=cfg.username.get_secret_value() if cfg.username else None,
        password=cfg.password.get_secret_value() if cfg.password else None,
        sender=cfg.from_,
        to=tuple(cfg.to),
        ca_file=cfg.ca_file,
        timeout=cfg.timeout,
        unsubscribe=cfg.unsubscribe,
    )


CHANNEL_TYPES: dict[str, Callable[[Any, str], Target]] = {
    "webhook": webhook_target,
    "email": smtp_target,
}


def build_channel(
    cfg: WebhookChannelConfig | EmailChannelConfig,
    councils: tuple[Council, ...] | None,
    user_agent: str,
) -> Channel:
    """One channel from its validated config; ValueError (never quoting a secret) when its
    target cannot work, so the loader reports it as a configuration error naming the channel."""
    digest = getattr(cfg, "digest", "off")
    return Channel(
        name=cfg.name,
        target=CHANNEL_TYPES[cfg.type](cfg, user_agent),
        councils=councils,
        report_types=frozenset(cfg.report_types) if cfg.report_types is not None else None,
        kinds=frozenset(cfg.kinds) if cfg.kinds is not None else None,
        fallback=cfg.fallback,
        digest=None if digest == "off" else digest,
        digest_at=getattr(cfg, "digest_at", "08:00"),
    )


def build_channels(
    configs: Sequence[WebhookChannelConfig | EmailChannelConfig],
    councils: Mapping[str, tuple[Council, ...] | None],
    user_agent: str,
) -> tuple[Channel, ...]:
    """Every enabled channel, built once when the configuration loads."""
    return tuple(build_channel(c, councils.get(c.name), user_agent) for c in configs if c.enabled)


__all__ = [
    "CHANNEL_TYPES",
    "FORMATS",
    "Channel",
    "Delivery",
    "SmtpTarget",
    "WebhookTarget",
    "build_channel",
    "build_channels",
    "generate_secret",
    "render",
    "sample_detection",
    "send_webhook",
    "sign",
]
