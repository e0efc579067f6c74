"""Configuration: every kind of error is one line naming file, key and reason, and exit 2."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from scraper.cli.commands import main
from scraper.errors import ConfigError
from scraper.settings.load import load_settings
from scraper.settings.schema import parse_duration

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


HTML_SOURCE = """
[[sources]]
name = "council-news"
type = "html"
url = "https://news.example.gov.uk/"
item = "article"
title = "h2"
link = "h2 a"
"""
EMAIL_CHANNEL = """
[[alerts]]
name = "team"
type = "email"
smtp_host = "smtp.example.org"
from = "ofsted-watch@example.org"
to = ["team@example.org"]
"""

CATCHES = {
    "bad_css": (
        GOOD + HTML_SOURCE.replace('item = "article"', 'item = "div[["'),
        "sources[1].item: 'div[[' is not a valid CSS selector",
        "(in source 'council-news')",
    ),
    "fallback_to_nowhere": (
        GOOD.replace('name = "hook"', 'name = "hook"\nfallback = "hoke"'),
        "alerts[0].fallback: no channel named 'hoke'",
        "(did you mean 'hook'?)",
    ),
    "bad_email": (
        GOOD + EMAIL_CHANNEL.replace('["team@example.org"]', '["team at example"]'),
        "alerts[1].to[0]: 'team at example' is not an email address",
        "(in channel 'team')",
    ),
    "relative_url": (
        GOOD.replace("https://www.communitycare.co.uk/feed/", "www.communitycare.co.uk/feed/"),
        "sources[0].url: 'www.communitycare.co.uk/feed/' is not an absolute http(s) URL",
        "(in source 'cc')",
    ),
    "ftp_webhook": (
        GOOD.replace("https://hooks.example.org/x", "ftp://hooks.example.org/x"),
        "alerts[0].url: 'ftp://hooks.example.org/x' is not an absolute http(s) URL",
        "(in channel 'hook')",
    ),
    "every_and_cron": (
        GOOD.replace('every = "30m"', 'every = "30m"\ncron = "0 7 * * *"'),
        "sources[0]: set either every or cron, not both",
        "(in source 'cc')",
    ),
    "unknown_report_type": (
        GOOD.replace('name = "hook"', 'name = "hook"\nreport_types = ["monitoring_vist"]'),
        "alerts[0].report_types[0]: Input should be",
        "(did you mean 'monitoring_visit'?)",
    ),
    "unknown_kind": (
        GOOD.replace('name = "hook"', 'name = "hook"\nkinds = ["news"]'),
        "alerts[0].kinds[0]: Input should be",
        "(did you mean 'news_article'?)",
    ),
    "unknown_key_suggests": (
        GOOD.replace('name = "hook"', 'name = "hook"\nfromat = "slack"'),
        "alerts[0].fromat: unknown key (in channel 'hook')",
        "(did you mean 'format'?)",
    ),
    "abolished_council": (
        GOOD.replace('"Reading"', '"Cumbria"'),
        "watchlist.councils[1]: Cumbria was abolished on 2023-03-31",
        "watch Cumberland, Westmorland and Furness instead",
    ),
    "abolished_on_a_channel": (
        GOOD.replace("[[alerts]]", '[[alerts]]\ncouncils = ["Poole"]'),
        "alerts[0].councils[0]: Poole was abolished on 2019-03-31 (in channel 'hook')",
        "watch Bournemouth, Christchurch and Poole instead",
    ),
    "notify_unknown_channel": (
        GOOD.replace("[watchlist]", '[daemon]\nnotify = ["hok"]\n\n[watchlist]'),
        "daemon.notify[0]: no channel named 'hok'",
        "(did you mean 'hook'?)",
    ),
}


@pytest.mark.parametrize("case", sorted(CATCHES))
def test_check_config_catches_it_and_names_the_entry(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config rejects the mistake in one line that names the entry and the nearest fix."""
    monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=")
    text, expected, hint = CATCHES[case]
    code, err = run_check(write(tmp_path, text), capsys)
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert expected in err and hint in err, err


def test_config_did_you_mean_uses_the_council_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown council's hint is what `ofsted-watch councils` finds for the same words."""
    assert main(["councils", "Wst Berkshre"]) == 0
    first = capsys.readouterr().out.split()[0:2]
    text = GOOD.replace('"Reading"', '"Wst Berkshre"').replace('secret = "${HOOK_SECRET}"', "")
    code, err = run_check(write(tmp_path, text), capsys)
    assert code == 2 and f"did you mean: {' '.join(first)}" in err


def test_compound_durations_are_accepted() -> None:
    """Durations combine units (1h30m, 1d12h) and a bare number is seconds."""
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1d12h") == 129600
    assert parse_duration("2w") == 14 * 86400
    assert parse_duration(90) == 90
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("1h and a bit")


def test_durations_load_as_timedelta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After loading, every duration is a timedelta: nothing parses '30m' again downstream."""
    monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=")
    text = GOOD.replace('every = "30m"', 'every = "1h30m"').replace(
        "[watchlist]", '[daemon]\nalert_every = "45s"\n\n[watchlist]'
    )
    settings = load_settings(str(write(tmp_path, text)))
    assert settings.sources[0].every == timedelta(hours=1, minutes=30)
    assert settings.daemon.alert_every == timedelta(seconds=45)
    assert settings.daemon.alert_lease == timedelta(minutes=5)
    assert not hasattr(settings, "raw")


def test_relative_sqlite_path_is_taken_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sqlite:///rel.db` opens next to the config file, and check-config prints it absolute."""
    monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=")
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "c.toml"
    path.write_text(GOOD.replace("sqlite:///{db}", "sqlite:///data/watch.db"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["--config", "conf/c.toml", "check-config"]) == 0
    out = capsys.readouterr().out
    assert f"storage: sqlite:///{folder / 'data' / 'watch.db'}" in out


def test_http_defaults_have_one_home() -> None:
    """The [http] defaults are the fetch policy's defaults (one number per setting)."""
    from scraper.models import HttpPolicy
    from scraper.settings.load import http_policy
    from scraper.settings.schema import HttpConfig

    assert http_policy(HttpConfig()) == HttpPolicy()


def test_check_config_prints_lookback_and_notify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config shows the watchlist's lookback and the channels told about failing sources."""
    monkeypatch.setenv("HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=")
    text = GOOD.replace(
        "[watchlist]", '[daemon]\nnotify = ["hook"]\n\n[watchlist]\nlookback = "2w"'
    )
    assert main(["--config", str(write(tmp_path, text)), "check-config"]) == 0
    out = capsys.readouterr().out
    assert "lookback: 14d (history published since then still alerts)" in out
    assert "notify: hook" in out
