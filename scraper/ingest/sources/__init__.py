"""Source types: `type = "..."` in config maps to a class through this visible table.

Each builder imports its class when first used, so a run over feeds alone never loads the
HTML (BeautifulSoup) or PDF readers: start-up time and memory a one-off fetch would pay for
nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from scraper.ingest.fetch_state import FetchStats
from scraper.models import HttpPolicy, PollContext, Source, SourceResult
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
    from scraper.ingest.sources.feed import FEED_MAX_BYTES, FeedSource

    return FeedSource(cfg.name, cfg.url, max_bytes=cfg.max_bytes or FEED_MAX_BYTES)


def _html(cfg: Any) -> Source:
    from scraper.ingest.sources.html import HTML_MAX_BYTES, HtmlSelectors, HtmlSource

    selectors = HtmlSelectors(
        item=cfg.item, title=cfg.title, link=cfg.link, date=cfg.date, summary=cfg.summary
    )
    return HtmlSource(cfg.name, cfg.url, selectors, max_bytes=cfg.max_bytes or HTML_MAX_BYTES)


SOURCE_TYPES: dict[str, Callable[[Any], Source]] = {
    "ofsted": _ofsted,
    "feed": _feed,
    "html": _html,
}


def poll_counted(source: Source, ctx: PollContext) -> SourceResult:
    """One poll of `source`, its request and byte counts read from the fetch view's own
    statistics (every attempt, retries and robots.txt included): one count, kept where the
    requests are made, instead of each source counting for itself."""
    before = _stats(ctx.fetch)
    result = source.poll(ctx)
    after = _stats(ctx.fetch)
    return replace(
        result,
        requests=after.requests - before.requests,
        bytes_read=after.bytes_read - before.bytes_read,
    )


def _stats(fetch: object) -> FetchStats:
    stats = getattr(fetch, "stats", None)  # a FetchView, a Fetcher, or a test's fake
    return stats if isinstance(stats, FetchStats) else FetchStats()


def build_source(cfg: SourceConfig) -> Source:
    return SOURCE_TYPES[cfg.type](cfg)


def source_policy(base: HttpPolicy, cfg: SourceConfig) -> HttpPolicy:
    """The fetch policy for one source: the [http] table with the source's own overrides.

    A source's `max_bytes` replaces both the [http] cap and its type's own default cap (feeds
    5 MiB, HTML pages 2 MiB), so it may raise them as well as lower them.
    """
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
