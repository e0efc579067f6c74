"""`ofsted-watch backfill`: says what it did per council, and reads the listing once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper.cli.commands import main
from tests.httpserver import LocalServer, Response
from tests.ofsted_world import OfstedWorld
from tests.test_ofsted_e2e import FIVE, write_config


@pytest.fixture
def world() -> Iterator[OfstedWorld]:
    with LocalServer() as server:
        yield OfstedWorld(server)


def _kinds(world: OfstedWorld) -> Counter[str]:
    """Requests by kind of page, from the loopback site's own log (robots.txt left out)."""
    out: Counter[str] = Counter()
    for path in world.paths():
        if path.startswith("/search?"):
            out["listing"] += 1
        elif path.startswith("/provider/44/"):
            out["provider"] += 1
        elif path.startswith(("/v1/file/", "/provider/files/")):
            out["file"] += 1
        else:
            out["other"] += 1
    return out


def test_backfill_reads_the_listing_once_then_one_page_per_council(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """Backfilling five councils reads the two listing pages once, one provider page per
    council, and each report file once: 2 + 5 + 22 requests."""
    config = write_config(tmp_path, world, FIVE)
    assert main(["--config", str(config), "backfill"]) == 0
    assert _kinds(world) == {"listing": 2, "provider": 5, "file": 22}
    files = [p for p in world.paths() if p.startswith(("/v1/file/", "/provider/files/"))]
    assert len(set(files)) == 22


def test_backfill_reports_new_and_already_stored_per_council(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each council gets a line: new reports the first time, already stored the second."""
    config = write_config(tmp_path, world, ["Reading", "Cumberland"])
    assert main(["--config", str(config), "backfill"]) == 0
    first = capsys.readouterr().out
    assert re.search(r"Reading\s+7 new, 0 already stored", first)
    assert re.search(r"Cumberland\s+2 new, 0 already stored", first)
    assert main(["--config", str(config), "backfill"]) == 0
    second = capsys.readouterr().out
    assert re.search(r"Reading\s+0 new, 7 already stored", second)
    assert "backfilled 2 council(s); 9 reports stored" in second


def test_backfill_one_council_failing_exits_1_and_keeps_the_others(
    tmp_path: Path, world: OfstedWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    """A council whose provider page fails is reported as failed (exit 1); the others are
    stored."""
    world.server.route("/provider/44/80540", Response(status=500))
    config = write_config(tmp_path, world, ["Reading", "Cumberland"], retries=0)
    assert main(["--config", str(config), "backfill"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"Reading\s+FAILED: .*500", out)
    assert re.search(r"Cumberland\s+2 new, 0 already stored", out)
    assert "1 council(s) failed" in out


def test_backfill_without_an_ofsted_source_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no `type = "ofsted"` source, backfill is a configuration error that says so."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/x.db"\n[watchlist]\ncouncils = ["Reading"]\n'
        '[[sources]]\nname = "news"\ntype = "feed"\nurl = "https://example.org/feed"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "backfill"]) == 2
    err = capsys.readouterr().err
    assert 'no enabled source has type = "ofsted"' in err
