"""Configuration: every kind of error is one line naming file, key and reason, and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.cli.commands import main
from scraper.errors import ConfigError
from scraper.models import HttpPolicy
from scraper.settings.config import load_settings, parse_duration

GOOD = """
[storage]
url = "sqlite:///{db}"

[watchlist]
councils = ["West Berkshire", "Reading", "B&NES"]

[[sources]]
name = "cc"
type = "feed"
url = "https://www.communitycare.co.uk/feed/"
every = "30m"

[[alerts]]
name = "hook"
type = "webhook"
url = "https://hooks.example.org/x"
secret = "${HOOK_SECRET}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text.replace("{db}", str(tmp_path / "x.db")), encoding="utf-8")
    return path


def run_check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--config", str(path), "check-config"])
    err = capsys.readouterr().err.strip()
    return code, err


def test_check_config_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped example config validates and lists both watched councils."""
    code = main(["--config", "config/ofsted-watch.toml", "check-config"])
    out = capsys.readouterr().out
    assert code == 0
    assert "West Berkshire (GSS E06000037" in out and "Reading (GSS E06000038" in out


def test_check_config_resolves_aliases_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Aliases resolve through the register and ${ENV} values are substituted but never printed."""
    monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=")
    code = main(["--config", str(write(tmp_path, GOOD)), "check-config"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Bath and North East Somerset" in out
    assert "c2VjcmV0" not in out and "signed" in out


CASES = {
    "unknown_key": (
        GOOD.replace('every = "30m"', 'every = "30m"\ncolour = "red"'),
        "sources[0].colour: unknown key",
    ),
    "bad_value": (
        GOOD.replace('every = "30m"', 'every = "soon"'),
        "sources[0].every: 'soon' is not a duration",
    ),
    "too_short": (
        GOOD.replace('every = "30m"', 'every = "0s"'),
        "sources[0].every: the shortest duration is 1s",
    ),
    "unknown_source_type": (
        GOOD.replace('type = "feed"', 'type = "rss"'),
        "sources[0].type: unknown type 'rss'",
    ),
    "unknown_channel_type": (
        GOOD.replace('type = "webhook"', 'type = "pager"'),
        "alerts[0].type: unknown type 'pager'",
    ),
    "unknown_council": (
        GOOD.replace('"Reading"', '"Readng"'),
        "watchlist.councils[1]: unknown council 'Readng' (did you mean: Reading",
    ),
    "missing_env": (GOOD, "alerts[0].secret: environment variable HOOK_SECRET is not set"),
    "bad_toml": ("[watchlist\ncouncils = 1", "not valid TOML"),
    "missing_key": (
        GOOD.replace('url = "https://www.communitycare.co.uk/feed/"', ""),
        "sources[0].url: required key is missing",
    ),
    "bad_format": (
        GOOD.replace('secret = "${HOOK_SECRET}"', 'format = "pager"'),
        "alerts[0].format:",
    ),
    "duplicate_name": (
        GOOD + '\n[[sources]]\nname = "cc"\ntype = "feed"\nurl = "https://x.example/"\n',
        "sources[1].name: duplicate name 'cc'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_error_is_one_line_with_exit_2(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each kind of configuration error prints one line with file, key and reason, and exits 2."""
    if case == "missing_env":
        monkeypatch.delenv("HOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=")
    text, expected = CASES[case]
    path = write(tmp_path, text)
    code, err = run_check(path, capsys)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"config error: {path}: ")
    assert expected in err


def test_missing_file_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config path that does not exist is a config error, not a traceback."""
    code, err = run_check(tmp_path / "nope.toml", capsys)
    assert code == 2 and "file not found" in err


def test_config_env_variable_names_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """$OFSTED_WATCH_CONFIG is used when --config is not given."""
    path = write(tmp_path, GOOD.replace('secret = "${HOOK_SECRET}"', ""))
    monkeypatch.setenv("OFSTED_WATCH_CONFIG", str(path))
    assert main(["check-config"]) == 0


def test_parse_duration_units() -> None:
    """Durations take s, m, h and d units."""
    assert [parse_duration(x) for x in ("30s", "15m", "1h", "1d")] == [30, 900, 3600, 86400]


def test_channel_councils_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel's councils filter resolves through the register like the watchlist."""
    monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=")
    settings = load_settings(
        str(write(tmp_path, GOOD.replace("[[alerts]]", '[[alerts]]\ncouncils = ["BFfC"]')))
    )
    assert [c.short_name for c in settings.channel_councils["hook"] or ()] == ["Reading"]
    with pytest.raises(ConfigError):
        load_settings(
            str(write(tmp_path, GOOD.replace("[[alerts]]", '[[alerts]]\ncouncils = ["Nowhere"]')))
        )


def test_http_defaults_have_one_home(tmp_path: Path) -> None:
    """[http] defaults are the fetch policy's own: deadline 30 s in the settings and the fetcher."""
    path = tmp_path / "c.toml"
    path.write_text('[watchlist]\ncouncils = ["Reading"]\n', encoding="utf-8")
    settings = load_settings(str(path))
    assert settings.http_policy().deadline == HttpPolicy().deadline == 30.0
    assert settings.http_policy() == HttpPolicy()
