"""TOML file -> Settings: read, substitute ${ENV}, validate, resolve councils, build typed values.

Every problem becomes one ConfigError naming the file, the key and the reason, so a user
fixing a typo at 7am sees exactly which line to change. Secrets stay SecretStr throughout.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from scraper.errors import ConfigError
from scraper.judge.councils import Register, load_register
from scraper.models import Council, HttpPolicy
from scraper.settings.config import DaemonSettings, Settings
from scraper.settings.schema import Channel, FileConfig, HttpConfig, SourceConfig

DEFAULT_PATH = "config/ofsted-watch.toml"
ENV_VAR = "OFSTED_WATCH_CONFIG"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def config_path(explicit: str | None) -> str:
    """--config, else $OFSTED_WATCH_CONFIG, else config/ofsted-watch.toml."""
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH


def load_settings(path: str, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, substitute ${ENV}, validate and resolve councils; raise ConfigError on any problem."""
    env = os.environ if environ is None else environ
    data = _substitute(_read_toml(path), env, path, ())
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
    d = raw.daemon
    return Settings(
        path=path,
        storage_url=raw.storage.url,
        http=http_policy(raw.http),
        daemon=DaemonSettings(d.listen, d.alert_every, d.alert_lease, d.lock_id),
        watched=watched,
        report_types=tuple(raw.watchlist.report_types),
        channel_councils=channel_councils,
        sources=tuple(s for s in raw.sources if s.enabled),
        channels=tuple(c for c in raw.alerts if c.enabled),
        disabled_sources=tuple(s for s in raw.sources if not s.enabled),
    )


def http_policy(h: HttpConfig) -> HttpPolicy:
    """The [http] table as the fetch layer's policy (per-source overrides come later)."""
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


def _type_names(union: Any) -> tuple[str, ...]:
    """The `type` tags a union of config models accepts, read from the models themselves."""
    return tuple(get_args(m.model_fields["type"].annotation)[0] for m in get_args(union))


_TYPE_TAGS = {"sources": _type_names(SourceConfig), "alerts": _type_names(Channel)}


def _first_error(path: str, exc: ValidationError) -> ConfigError:
    """Turn pydantic's first error into one line; strip the union tag from the location."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.endswith("Config"))]
    tags = {t for names in _TYPE_TAGS.values() for t in names}
    if len(loc) >= 3 and isinstance(loc[1], int) and loc[2] in tags:
        loc = [*loc[:2], *loc[3:]]
    etype = err["type"]
    if etype == "union_tag_invalid":
        tag = err.get("input", {}).get("type") if isinstance(err.get("input"), dict) else None
        expected = ", ".join(_TYPE_TAGS.get(str(loc[0]), ()))
        return ConfigError(
            path, _key([*loc, "type"]), f"unknown type {tag!r} (expected one of: {expected})"
        )
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
