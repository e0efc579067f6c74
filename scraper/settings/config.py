"""TOML configuration -> validated settings.

Every problem becomes one ConfigError naming the file, the key and the reason, so a user
fixing a typo at 7am sees exactly which line to change. Secrets stay SecretStr throughout.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time as dtime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from scraper.alerts.channels import Channel, build_channel
from scraper.errors import ConfigError
from scraper.judge.councils import Register, load_register
from scraper.models import REPORT_TYPES, Council, HttpPolicy

DEFAULT_PATH = "config/ofsted-watch.toml"
ENV_VAR = "OFSTED_WATCH_CONFIG"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
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


def parse_duration(value: str | int | float) -> float:
    """'30s', '15m', '1h', '1d' -> seconds; the shortest allowed is 1 s."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 1h or 1d")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds < 1:
        raise ValueError("the shortest duration is 1s")
    return seconds


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
    user_agent: str = "ofsted-watch/0.1 (+https://github.com/ofsted-watch/ofsted-watch)"
    timeout: float = Field(20.0, gt=0, le=300)
    deadline: float = Field(60.0, gt=0, le=3600)
    max_bytes: int = Field(20_000_000, gt=0)
    min_interval: float = Field(1.0, ge=0, le=3600)
    retries: int = Field(3, ge=0, le=10)
    respect_robots: bool = True
    allow_private: bool = False
    max_workers: int = Field(16, ge=1, le=32)


class DaemonConfig(_Strict):
    listen: str = "127.0.0.1:9108"
    alert_every: str = "30s"  # how often the dispatcher looks at the queue
    alert_lease: str = "5m"  # a claimed alert not settled by then is sent again (same id)
    alert_wait: str = "30s"  # a one-off fetch waits this long for an alert retry falling due
    lock_id: int = 7_351_620  # PostgreSQL advisory lock key for leader election

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str) -> str:
        if v and not re.match(r"^\[?[\w.:-]+\]?:\d{1,5}$", v):
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:9108, or empty")
        return v

    @field_validator("alert_every", "alert_lease", "alert_wait")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class WatchlistConfig(_Strict):
    councils: list[str] = Field(min_length=1)
    report_types: list[ReportType] = Field(default_factory=lambda: list(DEFAULT_REPORT_TYPES))


class _SourceBase(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    every: str | None = None
    cron: str | None = None
    respect_robots: bool | None = None
    min_interval: float | None = Field(None, ge=0, le=3600)
    max_bytes: int | None = Field(None, gt=0)
    enabled: bool = True

    @field_validator("every")
    @classmethod
    def _every(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and len(v.split()) != 5:
            raise ValueError("must have five fields: minute hour day month weekday")
        return v


class OfstedSourceConfig(_SourceBase):
    type: Literal["ofsted"]
    base_url: str = "https://reports.ofsted.gov.uk"
    monitoring_labels: list[str] = Field(
        default_factory=lambda: ["Monitoring visit", "Children's services monitoring visit"]
    )
    fetch_pdfs: bool = True


class FeedSourceConfig(_SourceBase):
    type: Literal["feed"]
    url: str


class HtmlSourceConfig(_SourceBase):
    type: Literal["html"]
    url: str
    item: str
    title: str
    link: str
    date: str | None = None
    summary: str | None = None


SourceConfig = Annotated[
    OfstedSourceConfig | FeedSourceConfig | HtmlSourceConfig, Field(discriminator="type")
]


class _ChannelBase(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    councils: list[str] | None = None
    report_types: list[ReportType] | None = None
    kinds: list[Kind] | None = None
    enabled: bool = True
    fallback: str | None = None  # another channel told when an alert here is given up


class WebhookChannelConfig(_ChannelBase):
    type: Literal["webhook"]
    url: str
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
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
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


ChannelConfig = Annotated[WebhookChannelConfig | EmailChannelConfig, Field(discriminator="type")]


class FileConfig(_Strict):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    watchlist: WatchlistConfig
    sources: list[SourceConfig] = Field(default_factory=list)
    alerts: list[ChannelConfig] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration with councils resolved against the register."""

    path: str
    raw: FileConfig
    watched: tuple[Council, ...]
    report_types: tuple[str, ...]
    channel_councils: Mapping[str, tuple[Council, ...] | None]  # channel name -> councils
    alert_channels: tuple[Channel, ...] = ()  # enabled channels, built once at load

    @property
    def storage_url(self) -> str:
        return self.raw.storage.url

    @property
    def sources(self) -> Sequence[OfstedSourceConfig | FeedSourceConfig | HtmlSourceConfig]:
        return [s for s in self.raw.sources if s.enabled]

    @property
    def channels(self) -> Sequence[WebhookChannelConfig | EmailChannelConfig]:
        return [c for c in self.raw.alerts if c.enabled]

    def http_policy(self) -> HttpPolicy:
        h = self.raw.http
        return HttpPolicy(
            user_agent=h.user_agent,
            timeout=h.timeout,
            deadline=h.deadline,
            max_bytes=h.max_bytes,
            min_interval=h.min_interval,
            retries=h.retries,
            respect_robots=h.respect_robots,
            allow_private=h.allow_private,
            max_workers=h.max_workers,
        )


def config_path(explicit: str | None) -> str:
    """--config, else $OFSTED_WATCH_CONFIG, else config/ofsted-watch.toml."""
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH


def load_settings(path: str, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, substitute ${ENV}, validate and resolve councils; raise ConfigError on any problem."""
    env = os.environ if environ is None else environ
    data = _read_toml(path)
    data = _substitute(data, env, path, ())
    try:
        raw = FileConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(path, exc) from None
    _check_unique(path, "sources", [s.name for s in raw.sources])
    _check_unique(path, "alerts", [c.name for c in raw.alerts])
    register = load_register()
    watched = _resolve_councils(path, "watchlist.councils", raw.watchlist.councils, register)
    channel_councils: dict[str, tuple[Council, ...] | None] = {}
    for i, ch in enumerate(raw.alerts):
        channel_councils[ch.name] = (
            _resolve_councils(path, f"alerts[{i}].councils", ch.councils, register)
            if ch.councils is not None
            else None
        )
    return Settings(
        path=path,
        raw=raw,
        watched=watched,
        report_types=tuple(raw.watchlist.report_types),
        channel_councils=channel_councils,
        alert_channels=_build_channels(path, raw, channel_councils),
    )


def _build_channels(
    path: str, raw: FileConfig, councils: Mapping[str, tuple[Council, ...] | None]
) -> tuple[Channel, ...]:
    """Sending targets built now, so a secret or setting that cannot work fails at load,
    naming the channel (its errors never quote a secret)."""
    built = []
    for ch in raw.alerts:
        if not ch.enabled:
            continue
        try:
            built.append(build_channel(ch, councils.get(ch.name), raw.http.user_agent))
        except ValueError as exc:
            key = f"alerts.{ch.name}" + (".secret" if "secret" in str(exc) else "")
            raise ConfigError(path, key, str(exc).removeprefix(f"alert {ch.name}: ")) from None
    return tuple(built)


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read: {exc.strerror}") from None


def _substitute(value: Any, env: Mapping[str, str], path: str, loc: tuple[str | int, ...]) -> Any:
    """Replace ${NAME} in every string; a missing variable is a config error naming the key."""
    if isinstance(value, dict):
        return {k: _substitute(v, env, path, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, path, (*loc, i)) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                raise ConfigError(path, _key(loc), f"environment variable {name} is not set")
            return env[name]

        return _ENV_REF.sub(repl, value)
    return value


def _key(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_TYPE_TAGS = {"sources": "ofsted, feed, html", "alerts": "webhook, email"}


def _first_error(path: str, exc: ValidationError) -> ConfigError:
    """Turn pydantic's first error into one line; strip the union tag from the location."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.endswith("Config"))]
    if (
        len(loc) >= 3
        and isinstance(loc[1], int)
        and loc[2] in ("ofsted", "feed", "html", "webhook", "email")
    ):
        loc = [*loc[:2], *loc[3:]]
    etype = err["type"]
    if etype == "union_tag_invalid":
        tag = err.get("input", {}).get("type") if isinstance(err.get("input"), dict) else None
        reason = f"unknown type {tag!r} (expected one of: {_TYPE_TAGS.get(str(loc[0]), '')})"
        return ConfigError(path, _key([*loc, "type"]), reason)
    if etype == "union_tag_not_found":
        return ConfigError(path, _key([*loc, "type"]), "missing (every entry needs a type)")
    if etype == "extra_forbidden":
        return ConfigError(path, _key(loc), "unknown key")
    if etype == "missing":
        return ConfigError(path, _key(loc), "required key is missing")
    msg = str(err["msg"]).removeprefix("Value error, ")
    return ConfigError(path, _key(loc), msg)


def _check_unique(path: str, table: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(path, f"{table}[{i}].name", f"duplicate name {name!r}")
        seen.add(name)


def _resolve_councils(
    path: str, key: str, queries: Sequence[str], register: Register
) -> tuple[Council, ...]:
    found: list[Council] = []
    for i, query in enumerate(queries):
        councils = register.lookup_all(query)
        if not councils:
            hints = register.suggest(query)
            tip = f" (did you mean: {', '.join(hints)}?)" if hints else ""
            raise ConfigError(path, f"{key}[{i}]", f"unknown council {query!r}{tip}")
        found.extend(c for c in councils if c not in found)
    return tuple(found)


def describe(settings: Settings) -> list[str]:
    """Lines for check-config: what will be watched, polled and alerted. Never prints secrets."""
    lines = [f"config: {settings.path}", f"storage: {_safe_url(settings.storage_url)}"]
    lines.append("watchlist:")
    for c in settings.watched:
        lines.append(
            f"  {c.short_name} (GSS {c.gss_code}, DfE {c.dfe_la_code}, URN {c.ofsted_urn})"
        )
    lines.append(f"report types: {', '.join(settings.report_types)}")
    lines.append("sources:")
    for s in settings.sources:
        where = s.base_url if isinstance(s, OfstedSourceConfig) else s.url
        when = f"cron {s.cron}" if s.cron else f"every {s.every or '1h'}"
        lines.append(f"  {s.name} [{s.type}] {where} ({when})")
    lines.append("alerts:")
    for ch in settings.channels:
        target = (
            _origin_only(ch.url)
            if isinstance(ch, WebhookChannelConfig)
            else (f"{ch.smtp_host}:{ch.smtp_port} ({ch.security}) -> {', '.join(ch.to)}")
        )
        extra = (
            f" format={ch.format}"
            if isinstance(ch, WebhookChannelConfig)
            else f" digest={ch.digest}"
        )
        signed = " signed" if isinstance(ch, WebhookChannelConfig) and ch.secret else ""
        lines.append(f"  {ch.name} [{ch.type}] {target}{extra}{signed}")
    return lines


def _origin_only(url: str) -> str:
    """Scheme and host of a webhook URL: Slack/Teams/Discord URLs carry a token in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/…"


def _safe_url(url: str) -> str:
    """Hide a password embedded in a URL (postgresql://user:pw@host/db)."""
    return re.sub(r"(//[^:/@]+):[^@/]+@", r"\1:***@", url)


REPORT_TYPE_SET = frozenset(REPORT_TYPES)
