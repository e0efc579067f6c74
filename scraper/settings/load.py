"""TOML file -> Settings: read, substitute ${ENV}, validate, resolve councils, build typed values.

Every problem becomes one ConfigError naming the file, the key and the reason, so a user
fixing a typo at 7am sees exactly which line to change. Secrets stay SecretStr throughout.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from scraper.alerts.channels import Channel, build_channel
from scraper.errors import ConfigError
from scraper.judge.councils import Register, load_register
from scraper.models import Council, HttpPolicy
from scraper.settings.config import DaemonSettings, Settings
from scraper.settings.schema import (
    ChannelConfig,
    FileConfig,
    HttpConfig,
    SourceConfig,
    StorageConfig,
)

DEFAULT_PATH = "config/ofsted-watch.toml"
ENV_VAR = "OFSTED_WATCH_CONFIG"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def config_path(explicit: str | None) -> str:
    """--config, else $OFSTED_WATCH_CONFIG, else config/ofsted-watch.toml."""
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH


def load_settings(path: str, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, substitute ${ENV}, validate and resolve councils; raise ConfigError on any problem."""
    env = os.environ if environ is None else environ
    data = _read_toml(path)
    try:
        data = _substitute(data, env, path, ())
        raw = FileConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(path, exc, data) from None
    except ConfigError as exc:
        raise _named(exc, data) from None
    _check_unique(path, "sources", [s.name for s in raw.sources])
    _check_unique(path, "alerts", [c.name for c in raw.alerts])
    _check_channel_names(path, raw)
    register = load_register()
    watched = _resolve_councils(path, "watchlist.councils", raw.watchlist.councils, register)
    channel_councils: dict[str, tuple[Council, ...] | None] = {}
    for i, ch in enumerate(raw.alerts):
        channel_councils[ch.name] = (
            _resolve_councils(path, f"alerts[{i}].councils", ch.councils, register, ch.name)
            if ch.councils is not None
            else None
        )
    source_councils = {
        s.name: _resolve_councils(path, f"sources[{i}].councils", s.councils, register)
        for i, s in enumerate(raw.sources)
        if s.councils
    }
    aliases = _resolve_aliases(path, raw.watchlist.aliases, register)
    d = raw.daemon
    return Settings(
        path=path,
        storage_url=storage_url(raw.storage, path),
        http=http_policy(raw.http),
        daemon=DaemonSettings(
            d.listen, d.alert_every, d.alert_lease, d.lock_id, tuple(d.notify), d.alert_wait
        ),
        watched=watched,
        report_types=tuple(raw.watchlist.report_types),
        channel_councils=channel_councils,
        sources=tuple(s for s in raw.sources if s.enabled),
        channels=tuple(c for c in raw.alerts if c.enabled),
        disabled_sources=tuple(s for s in raw.sources if not s.enabled),
        aliases=aliases,
        source_councils=source_councils,
        alert_channels=_build_channels(path, raw, channel_councils),
        web_token=raw.web.token,
    )


def _build_channels(
    path: str, raw: FileConfig, councils: Mapping[str, tuple[Council, ...] | None]
) -> tuple[Channel, ...]:
    """Sending targets built now, so a secret or setting that cannot work fails at load,
    naming the channel (their errors never quote a secret)."""
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


def storage_url(storage: StorageConfig, config_file: str) -> str:
    """A relative SQLite path is taken from the config file's folder, not the working
    directory: cron jobs and the daemon start elsewhere and would open another, empty file."""
    url = storage.url
    prefix = next((p for p in ("sqlite:///", "sqlite+pysqlite:///") if url.startswith(p)), None)
    if prefix is None:
        return url
    rest = url.removeprefix(prefix)
    if not rest or rest.startswith((":memory:", "/", "file:")):
        return url
    base = Path(config_file).resolve().parent
    return prefix + str(base / rest)


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
        raise ConfigError(
            path,
            "",
            f"file not found (name the file with --config PATH or ${ENV_VAR}; "
            f"without either, {DEFAULT_PATH} is read)",
        ) from None
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


_TYPE_TAGS = {"sources": _type_names(SourceConfig), "alerts": _type_names(ChannelConfig)}


def _first_error(path: str, exc: ValidationError, data: Any) -> ConfigError:
    """Turn pydantic's first error into one line; strip the union tag from the location."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.endswith("Config"))]
    tags = {t for names in _TYPE_TAGS.values() for t in names}
    if len(loc) >= 3 and isinstance(loc[1], int) and loc[2] in tags:
        loc = [*loc[:2], *loc[3:]]
    where = _entry_name(data, loc)
    etype = err["type"]
    if etype == "union_tag_invalid":
        tag = err.get("input", {}).get("type") if isinstance(err.get("input"), dict) else None
        names = _TYPE_TAGS.get(str(loc[0]), ())
        reason = f"unknown type {tag!r}{where} (expected one of: {', '.join(names)})"
        return ConfigError(path, _key([*loc, "type"]), reason + _nearest(str(tag), names))
    if etype == "union_tag_not_found":
        return ConfigError(path, _key([*loc, "type"]), f"missing{where} (every entry needs a type)")
    if etype == "extra_forbidden":
        keys = _known_keys(data, loc[:-1])
        return ConfigError(path, _key(loc), f"unknown key{where}{_nearest(str(loc[-1]), keys)}")
    if etype == "missing":
        return ConfigError(path, _key(loc), f"required key is missing{where}")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if etype == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        msg += _nearest(str(err.get("input")), allowed)
    return ConfigError(path, _key(loc), msg + where)


def _named(exc: ConfigError, data: Any) -> ConfigError:
    """The same error with the entry's name added (for errors raised before validation)."""
    loc = [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", exc.key) if p]
    return ConfigError(exc.file, exc.key, exc.reason + _entry_name(data, loc))


def _entry_name(data: Any, loc: Sequence[str | int]) -> str:
    """' (source "cc")' for an error inside a [[sources]] or [[alerts]] entry that has a name:
    "alerts[2]" means nothing to someone reading their file top to bottom."""
    if len(loc) < 2 or loc[0] not in ("sources", "alerts") or not isinstance(loc[1], int):
        return ""
    try:
        name = data[loc[0]][loc[1]].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    kind = "source" if loc[0] == "sources" else "channel"
    return f" (in {kind} {name!r})" if isinstance(name, str) and name else ""


def _known_keys(data: Any, loc: Sequence[str | int]) -> list[str]:
    """The keys the table at `loc` accepts, for a "did you mean" on an unknown one."""
    model: Any = FileConfig
    rest = list(loc)
    if len(loc) >= 2 and loc[0] in ("sources", "alerts") and isinstance(loc[1], int):
        try:
            tag = data[loc[0]][loc[1]].get("type")
        except (KeyError, IndexError, TypeError, AttributeError):
            return []
        union = SourceConfig if loc[0] == "sources" else ChannelConfig
        model = next((m for m in get_args(union) if (tag,) == _type_names_of(m)), None)
        rest = rest[2:]
    for part in rest:
        field = model.model_fields.get(part) if model is not None else None
        annotation = field.annotation if field is not None else None
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if is_model else None
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _type_names_of(model: Any) -> tuple[str, ...]:
    return tuple(get_args(model.model_fields["type"].annotation))


def _nearest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_unique(path: str, table: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ConfigError(path, f"{table}[{i}].name", f"duplicate name {name!r}")
        seen.add(name)


def _check_channel_names(path: str, raw: FileConfig) -> None:
    """`fallback` and `[daemon] notify` must name channels that exist."""
    names = [c.name for c in raw.alerts]
    for i, ch in enumerate(raw.alerts):
        if ch.fallback is not None and ch.fallback not in names:
            reason = f"no channel named {ch.fallback!r} (in channel {ch.name!r})"
            raise ConfigError(path, f"alerts[{i}].fallback", reason + _nearest(ch.fallback, names))
    for i, name in enumerate(raw.daemon.notify):
        if name not in names:
            reason = f"no channel named {name!r}" + _nearest(name, names)
            raise ConfigError(path, f"daemon.notify[{i}]", reason)


def _resolve_aliases(
    path: str, aliases: Mapping[str, str], register: Register
) -> dict[str, Council]:
    """`[watchlist] aliases`: each value names exactly one current council, and a name the
    register already gives to another council cannot be taken over."""
    found: dict[str, Council] = {}
    for name, query in aliases.items():
        key = f"watchlist.aliases.{name}"
        council = register.lookup(query)
        if council is None or not council.current or not name.strip():
            raise ConfigError(path, key, f"{query!r} does not name one current council")
        taken = [c for c in register.lookup_all(name) if c != council]
        if taken:
            raise ConfigError(path, key, f"{name!r} already names {taken[0].short_name}")
        found[name.strip()] = council
    return found


def _resolve_councils(
    path: str,
    key: str,
    queries: Sequence[str],
    register: Register,
    entry: str | None = None,
) -> tuple[Council, ...]:
    """Names -> current councils. An abolished one is an error naming its successors: it
    publishes nothing new, so watching it would silently watch nothing."""
    where = f" (in channel {entry!r})" if entry else ""
    found: list[Council] = []
    for i, query in enumerate(queries):
        councils = register.lookup_all(query)
        if not councils:
            hints = [c.short_name for c in register.search(query, limit=3)]
            tip = f" (did you mean: {', '.join(hints)}?)" if hints else ""
            raise ConfigError(path, f"{key}[{i}]", f"unknown council {query!r}{where}{tip}")
        gone = [c for c in councils if not c.current]
        if gone:
            heirs = ", ".join(h.short_name for c in gone for h in register.successors(c))
            ended = gone[0].valid_to.isoformat() if gone[0].valid_to else "?"
            reason = f"{gone[0].short_name} was abolished on {ended}{where}"
            raise ConfigError(
                path, f"{key}[{i}]", reason + (f"; watch {heirs} instead" if heirs else "")
            )
        found.extend(c for c in councils if c not in found)
    return tuple(found)
