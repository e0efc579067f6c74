"""Source and watchlist context through the CLI: a newsroom's own councils, local aliases, and
the reasons `test-source` and `detections --json` give for every verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scraper.cli.commands import main
from scraper.errors import ConfigError
from scraper.settings.load import load_settings
from tests.httpserver import LocalServer, Response

KINGSTON_STORY = (
    "Kingston children's services rated good by Ofsted",
    "Inspectors said social workers in Kingston know their children well.",
)
STORIES: dict[str, list[tuple[str, str]]] = {
    "/kingston/": [KINGSTON_STORY],
    "/general/": [
        KINGSTON_STORY,
        ("Hereford children's services improve to good", "Ofsted praised social workers."),
        ("Sandwell children's services rated inadequate", "Ofsted found serious failings."),
        (
            "Improvement notice issued to Herefordshire council",
            "Ofsted judged its children's services inadequate.",
        ),
    ],
}


ROUND = {"n": 1}  # round 0 serves an empty feed: the silent first poll has nothing to record


def _rss(path: str) -> bytes:
    r = ROUND["n"]
    items = (
        ""
        if r == 0
        else "".join(
            f"<item><title>{title}</title><link>https://news.test{path}{r}/{n}</link>"
            f"<guid>https://news.test{path}{r}/{n}</guid>"
            "<pubDate>Mon, 16 Jun 2025 09:00:00 +0000</pubDate>"
            f"<description>{body}</description></item>"
            for n, (title, body) in enumerate(STORIES[path])
        )
    )
    channel = f"<channel><title>t</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def _config(tmp_path: Path, server: LocalServer, extra: str = "") -> Path:
    path = tmp_path / "ofsted-watch.toml"
    path.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/ow.db"\n'
        '[http]\nuser_agent = "ofsted-watch-test/1.0"\nallow_private = true\n'
        'min_interval = 0.01\nretries = 0\n[daemon]\nlisten = ""\n'
        '[watchlist]\ncouncils = ["Kingston upon Thames", "Herefordshire"]\n'
        'aliases = {"Hereford" = "Herefordshire"}\n'
        f'[[sources]]\nname = "kingston-news"\ntype = "feed"\nurl = "{server.url("/kingston/")}"\n'
        'councils = ["Kingston upon Thames"]\n'
        f'[[sources]]\nname = "general"\ntype = "feed"\nurl = "{server.url("/general/")}"\n'
        + extra,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def server() -> Any:
    with LocalServer() as srv:
        for path in STORIES:
            srv.route(
                path,
                lambda _r, p=path: Response(
                    body=_rss(p), headers={"Content-Type": "application/rss+xml"}
                ),
            )
        yield srv


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_source_councils_resolve_kingston_only_on_the_newsroom(
    tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source with councils = ["Kingston upon Thames"] detects a story naming only "Kingston"
    as Kingston upon Thames; the same story on a general feed is not guessed."""
    config = _config(tmp_path, server)
    ROUND["n"] = 0
    try:
        assert main(["--config", str(config), "fetch", "--no-alerts"]) == 0  # baseline
    finally:
        ROUND["n"] = 1
    capsys.readouterr()
    assert main(["--config", str(config), "fetch", "--no-alerts", "--json"]) == 0
    found = _lines(capsys)
    by_source = {(d["source"], d["title"]): d for d in found}
    kingston = by_source[("kingston-news", KINGSTON_STORY[0])]
    assert [c["name"] for c in kingston["councils"]] == ["Kingston upon Thames"]
    assert ("general", KINGSTON_STORY[0]) not in by_source
    hereford = by_source[("general", "Hereford children's services improve to good")]
    assert [c["name"] for c in hereford["councils"]] == ["Herefordshire"]
    assert len(found) == 2


def test_test_source_gives_the_rule_for_every_verdict(
    tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """test-source says why for each line: the words for a detection, the rule for a skip."""
    config = _config(tmp_path, server)
    capsys.readouterr()
    assert main(["--config", str(config), "test-source", "general", "--json"]) == 0
    rows = {r["title"]: r for r in _lines(capsys)}
    assert 'ambiguous "Kingston"' in rows[KINGSTON_STORY[0]]["reason"]
    assert (
        "council not on the watchlist: Sandwell"
        in rows["Sandwell children's services rated inadequate"]["reason"]
    )
    assert rows["Improvement notice issued to Herefordshire council"]["reason"].startswith(
        "DfE intervention, not an Ofsted visit"
    )
    hereford = rows["Hereford children's services improve to good"]
    assert hereford["detect"] and '"improve to good" in title' in hereford["reason"]
    assert 'Herefordshire: "Hereford" in title' in hereford["reason"]
    assert main(["--config", str(config), "test-source", "kingston-news"]) == 0
    text = capsys.readouterr().out
    assert "DETECT" in text and "the source's own council" in text


def test_detections_json_carries_evidence(
    tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`detections --json` shows why each detection was made: rules and the council's words."""
    config = _config(tmp_path, server)
    assert main(["--config", str(config), "fetch", "--no-alerts"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "detections", "--json", "--all"]) == 0
    found = {d["title"]: d for d in _lines(capsys)}
    evidence = found[KINGSTON_STORY[0]]["evidence"]
    assert [{k: v for k, v in e.items() if k != "offset"} for e in evidence["councils"]] == [
        {"council": "Kingston upon Thames", "text": "Kingston", "where": "title"},
        {"council": "Kingston upon Thames", "text": "Kingston", "where": "summary"},
    ]
    assert any(r.startswith('Ofsted: "Ofsted" in title') for r in evidence["reasons"])
    assert any("the source's own council" in r for r in evidence["reasons"])


def test_config_validates_aliases_and_source_councils(tmp_path: Path, server: LocalServer) -> None:
    """An alias must name one current council and may not take another council's name; a
    source's councils must be known councils."""
    for extra, key in (
        ("", None),
        ("[watchlist]\n", None),
    ):
        assert extra is not None and key is None
    good = _config(tmp_path, server)
    settings = load_settings(str(good))
    assert settings.aliases["Hereford"].short_name == "Herefordshire"
    assert [c.short_name for c in settings.source_councils["kingston-news"]] == [
        "Kingston upon Thames"
    ]
    text = good.read_text(encoding="utf-8")
    cases = (
        (
            text.replace('"Hereford" = "Herefordshire"', '"Hereford" = "Nowhereshire"'),
            "watchlist.aliases.Hereford",
        ),
        (
            text.replace('"Hereford" = "Herefordshire"', '"Telford" = "Herefordshire"'),
            "already names Telford and Wrekin",
        ),
        (
            text.replace('councils = ["Kingston upon Thames"]\n[[', 'councils = ["Kingstown"]\n[['),
            "sources[0].councils[0]",
        ),
    )
    for bad, expected in cases:
        good.write_text(bad, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_settings(str(good))
        assert expected in str(err.value)
