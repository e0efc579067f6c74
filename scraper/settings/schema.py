"""The configuration file's schema: every key, its type, its one default and its checks.

Pydantic with `extra="forbid"` gives a precise error for each wrong key; durations are parsed
here into `timedelta`, so nothing downstream parses a "30m" string again.
"""

from __future__ import annotations

import re
from datetime import time as dtime
from datetime import timedelta
from email.utils import parseaddr
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from scraper.httputil import redact_url
from scraper.models import HttpPolicy

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
ReportType = Literal[
    "monitoring_visit", "focused_visit", "inspection", "jtai", "area_send", "other"
]
Kind = Literal["ofsted_report", "news_article"]
DEFAULT_REPORT_TYPES: tuple[ReportType, ...] = (
    "monitoring_visit",
    "focused_visit",
    "inspection",
    "jtai",
    "area_send",
)
# The fetch layer's defaults are the config's defaults: one number per setting.
_POLICY = HttpPolicy()


def parse_duration(value: str | int | float, *, shortest: float = 1.0) -> float:
    """'30s', '15m', '1h', '1d', '2w' or compound '1h30m' -> seconds (a bare number is seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub("", text).strip():
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 1h, 1d or 1h30m")
        seconds = sum(float(n) * _UNITS[unit] for n, unit in parts)
    if seconds < shortest:
        raise ValueError(
            "the shortest duration is 1s" if shortest == 1.0 else f"must be at least {shortest:g}s"
        )
    return seconds


def _duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str | int | float):
        return timedelta(seconds=parse_duration(value))
    return value


def _span(value: object) -> object:
    """Like a duration, but zero is allowed (a look-back of 0d means "nothing")."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return timedelta(seconds=parse_duration(value, shortest=0.0))
    return value


def _http_url(value: str) -> str:
    """Only absolute http(s) URLs: a bare host or a file: URL would fail at the first poll."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute http(s) URL (like https://example.org/)")
    return value.strip()


_ADDRESS = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def _email(value: str) -> str:
    """An address, alone or as `Name <address>`; anything else the SMTP server would refuse."""
    _name, address = parseaddr(value)
    if not _ADDRESS.match(address) or (address != value.strip() and "<" not in value):
        raise ValueError(f"{value!r} is not an email address like team@example.org")
    return value


def _css(value: str) -> str:
    """A selector soupsieve compiles, so a typo fails check-config rather than every poll."""
    import soupsieve  # only configs with html sources pay for it

    try:
        soupsieve.compile(value)
    except soupsieve.SelectorSyntaxError as exc:
        first = str(exc).splitlines()[0]
        raise ValueError(f"{value!r} is not a valid CSS selector: {first}") from None
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Span = Annotated[timedelta, BeforeValidator(_span)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Email = Annotated[str, AfterValidator(_email)]
Css = Annotated[str, AfterValidator(_css)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StorageConfig(_Strict):
    url: str = "sqlite:///ofsted-watch.db"

    @field_validator("url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if not v.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return v


class HttpConfig(_Strict):
    user_agent: str = _POLICY.user_agent
    timeout: float = Field(_POLICY.timeout, gt=0, le=300)
    deadline: float = Field(_POLICY.deadline, gt=0, le=3600)
    max_bytes: int = Field(_POLICY.max_bytes, gt=0)
    min_interval: float = Field(_POLICY.min_interval, ge=0, le=3600)
    retries: int = Field(_POLICY.retries, ge=0, le=10)
    respect_robots: bool = _POLICY.respect_robots
    allow_private: bool = _POLICY.allow_private
    max_workers: int = Field(_POLICY.max_workers, ge=1, le=32)


class DaemonConfig(_Strict):
    listen: str = "127.0.0.1:9108"
    alert_every: Duration = timedelta(seconds=30)  # how often the dispatcher looks at the queue
    alert_lease: Duration = timedelta(minutes=5)  # a claimed alert not settled by then is resent
    alert_wait: Duration = timedelta(seconds=30)  # a one-off fetch waits this long for a retry
    lock_id: int = 7_351_620  # PostgreSQL advisory lock key for leader election
    notify: list[str] = Field(default_factory=list)  # channels told when sources fail/recover

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str) -> str:
        if v and not re.match(r"^\[?[\w.:-]+\]?:\d{1,5}$", v):
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9108, or empty")
        return v


class WatchlistConfig(_Strict):
    councils: list[str] = Field(min_length=1)
    report_types: list[ReportType] = Field(default_factory=lambda: list(DEFAULT_REPORT_TYPES))
    # What a newly watched council's history or a new source's first poll published this
    # recently still alerts; anything older is recorded silently.
    lookback: Span = timedelta(0)
    # Local names for watched councils that the register does not know ("Hereford" =
    # "Herefordshire"); each value must name one council in the register.
    aliases: dict[str, str] = Field(default_factory=dict)


class _SourceBase(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    every: Duration | None = None
    cron: str | None = None
    respect_robots: bool | None = None
    min_interval: float | None = Field(None, ge=0, le=3600)
    max_bytes: int | None = Field(None, gt=0)
    enabled: bool = True
    failures_before_notice: int = Field(3, ge=1, le=1000)  # polls failed in a row
    failing_after: Duration | None = None  # or no success for this long
    stale_after: Duration | None = None  # warn once when nothing new for this long
    # A council's or trust's own newsroom: its items are about these councils unless the text
    # names another council.
    councils: list[str] | None = None

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and len(v.split()) != 5:
            raise ValueError("must have five fields: minute hour day month weekday")
        return v

    @property
    def shown_url(self) -> str:
        """The source's URL as printed or logged: credentials in it replaced by ***."""
        return redact_url(str(getattr(self, "url", "")))

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if self.every is not None and self.cron is not None:
            raise ValueError("set either every or cron, not both")
        return self


class OfstedSourceConfig(_SourceBase):
    type: Literal["ofsted"]
    base_url: HttpUrl = "https://reports.ofsted.gov.uk"
    monitoring_labels: list[str] = Field(
        default_factory=lambda: ["Monitoring visit", "Children's services monitoring visit"]
    )
    fetch_pdfs: bool = True

    @property
    def url(self) -> str:
        """Where the source lives, named like the other sources' `url`."""
        return self.base_url


class FeedSourceConfig(_SourceBase):
    type: Literal["feed"]
    url: HttpUrl


class HtmlSourceConfig(_SourceBase):
    type: Literal["html"]
    url: HttpUrl
    item: Css
    title: Css
    link: Css
    date: Css | None = None
    summary: Css | None = None


SourceConfig = OfstedSourceConfig | FeedSourceConfig | HtmlSourceConfig
_AnySource = Annotated[SourceConfig, Field(discriminator="type")]


class _ChannelBase(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    councils: list[str] | None = None
    report_types: list[ReportType] | None = None
    kinds: list[Kind] | None = None
    enabled: bool = True
    fallback: str | None = None  # another channel told when an alert here is given up


class WebhookChannelConfig(_ChannelBase):
    type: Literal["webhook"]
    url: HttpUrl
    format: Literal["json", "slack", "teams", "discord"] = "json"
    secret: SecretStr | None = None
    allow_private: bool = False
    timeout: float = Field(15.0, gt=0, le=60)

    @field_validator("secret")
    @classmethod
    def _whsec(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("whsec_"):
            raise ValueError("must start with whsec_ followed by base64")
        return v


class EmailChannelConfig(_ChannelBase):
    type: Literal["email"]
    smtp_host: str
    smtp_port: int = Field(587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: SecretStr | None = None
    password: SecretStr | None = None
    from_: Email = Field(alias="from")
    to: list[Email] = Field(min_length=1)
    digest: Literal["off", "daily", "weekly"] = "off"
    digest_at: str = "08:00"
    ca_file: str | None = None
    unsubscribe: str | None = None
    timeout: float = Field(30.0, gt=0, le=300)

    @field_validator("digest_at")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        dtime.fromisoformat(v)
        return v


# The TOML shape of an [[alerts]] entry; the sending Channel is built from it in alerts.channels.
ChannelConfig = WebhookChannelConfig | EmailChannelConfig
_AnyChannel = Annotated[ChannelConfig, Field(discriminator="type")]


class WebConfig(_Strict):
    """The read-only web view; a token, when set, is asked of every request but /healthz."""

    token: SecretStr | None = None

    @field_validator("token")
    @classmethod
    def _not_blank(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().strip():
            raise ValueError("must not be empty (leave the key out to serve without a token)")
        return v


class FileConfig(_Strict):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    watchlist: WatchlistConfig
    sources: list[_AnySource] = Field(default_factory=list)
    alerts: list[_AnyChannel] = Field(default_factory=list)
