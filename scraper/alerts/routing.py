"""Which channels an alert for a detection goes to: each channel's councils, types and kinds."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from scraper.models import Council, Detection
from scraper.settings.schema import Channel, EmailChannelConfig
from scraper.store import Route


def wants(channel: Channel, councils: tuple[Council, ...] | None, det: Detection) -> bool:
    """A channel takes a detection when every filter it sets lets it through."""
    if channel.kinds is not None and det.kind not in channel.kinds:
        return False
    if channel.report_types is not None and det.report_type not in channel.report_types:
        return False
    if councils is not None:
        codes = {c.gss_code for c in councils}
        if not any(c.gss_code in codes for c in det.councils):
            return False
    return True


def router(
    channels: Sequence[Channel], channel_councils: Mapping[str, tuple[Council, ...] | None]
) -> Callable[[Detection], list[Route]]:
    def routes(det: Detection) -> list[Route]:
        out = []
        for ch in channels:
            if wants(ch, channel_councils.get(ch.name), det):
                digest = (
                    ch.digest if isinstance(ch, EmailChannelConfig) and ch.digest != "off" else None
                )
                out.append(Route(ch.name, digest))
        return out

    return routes
