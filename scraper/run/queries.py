"""What the listing commands read: the council register's search, and stored reports and
detections as payloads. The CLI renders these; it never touches the register or rows itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from scraper.errors import ConfigError
from scraper.judge.councils import load_register
from scraper.models import Council

if TYPE_CHECKING:  # `councils` searches the register alone: no config models, no SQLAlchemy
    from scraper.settings.config import Settings
    from scraper.store import Store


def search_councils(query: str) -> list[Council]:
    """`councils QUERY`: exact, then substring, then fuzzy hits; every current council if empty."""
    register = load_register()
    return register.search(query, limit=200) if query else list(register.all())


def successors(council: Council) -> list[Council]:
    """The current councils that took over an abolished one (none for a current council)."""
    return list(load_register().successors(council))


def suggest_councils(query: str) -> list[str]:
    """Names that look like the query, for a "did you mean" hint."""
    return load_register().suggest(query)


def filter_councils(names: Sequence[str] | None) -> list[Council] | None:
    """`--council X` filters: each must name a council; None when no filter was given."""
    if not names:
        return None
    register = load_register()
    found: list[Council] = []
    for name in names:
        hits = register.lookup_all(name)
        if not hits:
            hint = ", ".join(register.suggest(name))
            raise ConfigError(
                "--council", name, f"unknown council{f' (did you mean: {hint}?)' if hint else ''}"
            )
        found.extend(hits)
    return found


def pick_watched(settings: Settings, names: Sequence[str] | None) -> tuple[Council, ...]:
    """The watched councils named by `--council` (all of them when none is named)."""
    if not names:
        return settings.watched
    register = load_register()
    picked: list[Council] = []
    for i, name in enumerate(names):
        found = register.lookup_all(name)
        if not found or not all(c in settings.watched for c in found):
            raise ConfigError(settings.path, f"--council[{i}]", f"{name!r} is not on the watchlist")
        picked.extend(found)
    return tuple(picked)


def report_rows(
    store: Store,
    councils: Sequence[Council] | None,
    report_type: str | None,
    since: date | None,
) -> list[dict[str, Any]]:
    """Stored reports as `reports --json` prints them, the council named from the register."""
    from scraper.store.records import report_payload

    urns = [c.ofsted_urn for c in councils if c.ofsted_urn] if councils is not None else None
    register = load_register()
    out = []
    for row in store.reports(urns=urns, report_type=report_type, since=since):
        council = register.by_urn(row["urn"])
        out.append(report_payload(row, [council.ref()] if council else []).data())
    return out


def detection_rows(
    store: Store,
    councils: Sequence[Council] | None,
    report_type: str | None,
    since: date | None,
    *,
    include_baseline: bool,
) -> list[dict[str, Any]]:
    """Stored detections as payloads; baseline ones only when asked for."""
    from scraper.store.records import payload

    codes = [c.gss_code for c in councils] if councils is not None else None
    rows = store.detections(
        gss_codes=codes, report_type=report_type, since=since, include_baseline=include_baseline
    )
    return [payload(row).data() for row in rows]
