"""Source types: `type = "..."` in config maps to a class through this visible table.

Each builder imports its class when first used, so a run over feeds alone never loads the
HTML (BeautifulSoup) or PDF readers: start-up time and memory a one-off fetch would pay for
nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from scraper.models import HttpPolicy, Source
from scraper.settings.schema import OfstedSourceConfig, SourceConfig

# The Ofsted site blocks and rate-limits scrapers: never faster than this, and a 403 is
# treated as "slow down" (retried with backoff) rather than as a final answer.
OFSTED_MIN_INTERVAL = 1.0


def _ofsted(cfg: Any) -> Source:
    from scraper.ingest.sources.ofsted import OfstedSource

    return OfstedSource(
        cfg.name,
        cfg.base_url,
        monitoring_labels=tuple(cfg.monitoring_labels),
        fetch_pdfs=cfg.fetch_pdfs,
    )


def _feed(cfg: Any) -> Source:
    from scraper.ingest.sources.feed import FeedSource

    return FeedSource(cfg.name, cfg.url)


def _html(cfg: Any) -> Source:
    from scraper.ingest.sources.html import HtmlSelectors, HtmlSource

    selectors = HtmlSelectors(
        item=cfg.item, title=cfg.title, link=cfg.link, date=cfg.date, summary=cfg.summary
    )
    return HtmlSource(cfg.name, cfg.url, selectors)


SOURCE_TYPES: dict[str, Callable[[Any], Source]] = {
    "ofsted": _ofsted,
    "feed": _feed,
    "html": _html,
}


def build_source(cfg: SourceConfig) -> Source:
    return SOURCE_TYPES[cfg.type](cfg)


def source_policy(base: HttpPolicy, cfg: SourceConfig) -> HttpPolicy:
    """The fetch policy for one source: the [http] table with the source's own overrides."""
    policy = base
    if cfg.respect_robots is not None:
        policy = replace(policy, respect_robots=cfg.respect_robots)
    if cfg.min_interval is not None:
        policy = replace(policy, min_interval=cfg.min_interval)
    if cfg.max_bytes is not None:
        policy = replace(policy, max_bytes=cfg.max_bytes)
    if isinstance(cfg, OfstedSourceConfig):
        policy = replace(
            policy,
            min_interval=max(policy.min_interval, OFSTED_MIN_INTERVAL)
            if cfg.min_interval is None
            else cfg.min_interval,
            retry_statuses=tuple(sorted({*policy.retry_statuses, 403})),
        )
    return policy
