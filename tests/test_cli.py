"""The CLI's own behaviour: the council search, entry points and usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.cli.commands import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("west berks", "West Berkshire"),
        ("E06000038", "Reading"),
        ("80577", "West Berkshire"),
        ("870", "Reading"),
        ("BFfC", "Reading"),
        ("B&NES", "Bath and North East Somerset"),
        ("2733690", "Cumberland"),
        ("E08000038", "Barnsley"),
    ],
)
def test_councils_finds_by_any_identifier(
    query: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`councils QUERY` finds a council by name, alias, delivery body, GSS/DfE code or URN."""
    assert main(["councils", query]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(expected)


def test_councils_json_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives the register fields; a near miss still finds; nonsense exits 1."""
    assert main(["councils", "Reading", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (row["name"], row["gss_code"], row["ofsted_urn"], row["dfe_la_code"]) == (
        "Reading",
        "E06000038",
        "80540",
        "870",
    )
    assert "Brighter Futures for Children" in row["delivery_bodies"]
    assert main(["councils", "Readng Borogh"]) == 0
    assert capsys.readouterr().out.startswith("Reading ")
    assert main(["councils", "Zzyzx Qqq"]) == 1
    assert "no council matches 'Zzyzx Qqq'" in capsys.readouterr().err


def test_councils_without_query_lists_the_153_current(capsys: pytest.CaptureFixture[str]) -> None:
    """With no query, every current children's services authority is listed."""
    assert main(["councils"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 153


def test_python_dash_m_and_console_script_agree() -> None:
    """`python -m scraper` runs the same CLI as the console script."""
    out = subprocess.run(
        [sys.executable, "-m", "scraper", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert out.stdout.startswith("ofsted-watch ")


def test_unknown_source_name_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fetch --source NAME` with no such source exits 2 naming it."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/x.db"\n[watchlist]\ncouncils = ["Reading"]\n'
    )
    assert main(["--config", str(config), "fetch", "--source", "nope"]) == 2
    assert "no enabled source named 'nope'" in capsys.readouterr().err


def test_councils_marks_abolished_ones_with_their_successors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An abolished council is marked as such, naming who took over, in text and JSON."""
    assert main(["councils", "Northamptonshire"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Northamptonshire ") and "ABOLISHED 2021-03-31" in first
    assert "North Northamptonshire" in first and "West Northamptonshire" in first
    assert main(["councils", "Poole", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    poole = next(r for r in rows if r["name"] == "Poole")
    assert poole["current"] is False and poole["valid_to"] == "2019-03-31"
    assert poole["successors"] == ["Bournemouth, Christchurch and Poole"]


def _world_config(tmp_path: Path, url: str) -> Path:
    from tests.daemonkit import feed, write_config

    return write_config(
        tmp_path / "c.toml", f"sqlite:///{tmp_path}/ow.db", feed("news", url), listen=""
    )


def test_global_options_may_follow_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--config, -q and --log-format work after the command as well as before it."""
    path = _world_config(tmp_path, "http://127.0.0.1:9/feed")
    assert main(["check-config", "--config", str(path), "-q", "--log-format", "json"]) == 0
    assert "configuration OK" in capsys.readouterr().out
    assert main(["--config", str(path), "alerts", "list", "-q"]) == 0


def test_missing_config_names_the_option_and_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config file that is not there tells how to name one: --config or the variable."""
    assert main(["check-config", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "--config" in err and "$OFSTED_WATCH_CONFIG" in err


def test_since_takes_dates_words_and_ages() -> None:
    """--since takes YYYY-MM-DD, today, yesterday, 7d and 2w (counted from a given today)."""
    from datetime import date

    from scraper.cli.args import since_date

    today = date(2026, 12, 3)
    assert since_date("2026-11-01", today=lambda: today) == date(2026, 11, 1)
    assert since_date("yesterday", today=lambda: today) == date(2026, 12, 2)
    assert since_date("today", today=lambda: today) == today
    assert since_date("7d", today=lambda: today) == date(2026, 11, 26)
    assert since_date("2w", today=lambda: today) == date(2026, 11, 19)


def test_since_word_is_accepted_by_the_listings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`detections --since 7d` and `reports --since yesterday` parse and run."""
    path = _world_config(tmp_path, "http://127.0.0.1:9/feed")
    assert main(["detections", "--since", "7d", "--config", str(path)]) == 0
    assert main(["reports", "--since", "yesterday", "--config", str(path)]) == 0


def test_piping_into_a_closed_reader_ends_quietly() -> None:
    """A reader that has gone (`| head`) ends the command quietly: no BrokenPipeError."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader left before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "scraper", "councils"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert b"BrokenPipe" not in done.stderr and b"Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0


def test_empty_detections_say_what_baseline_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a baseline, `detections` says none yet and how many were recorded silently."""
    from tests.daemonkit import NewsFeed
    from tests.httpserver import LocalServer

    with LocalServer() as server:
        server.route("/feed", NewsFeed(count=3))
        path = _world_config(tmp_path, server.url("/feed"))
        assert main(["--config", str(path), "fetch", "--no-alerts"]) == 0
    capsys.readouterr()
    assert main(["--config", str(path), "detections"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no detections yet; 3 recorded silently at baseline, see --all" in captured.err
    assert main(["--config", str(path), "detections", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6  # each detection: a summary line, then its link
    assert lines[1].strip().startswith("https://news")
    assert main(["--config", str(path), "reports"]) == 0
    assert "no reports stored yet" in capsys.readouterr().err


def test_fetch_on_a_terminal_prints_the_summary_not_info_lines(tmp_path: Path) -> None:
    """On a terminal `fetch` shows its table and warnings; -v brings back the INFO lines."""
    import os
    import pty

    from tests.daemonkit import NewsFeed
    from tests.httpserver import LocalServer

    def run_on_tty(*extra: str) -> str:
        leader, follower = pty.openpty()
        try:
            subprocess.run(
                [sys.executable, "-m", "scraper", "--config", str(path), "fetch", *extra],
                stdout=follower,
                stderr=follower,
                cwd=ROOT,
                timeout=120,
                check=False,
            )
            os.close(follower)
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks).decode()
        finally:
            os.close(leader)

    with LocalServer() as server:
        server.route("/feed", NewsFeed(count=2))
        path = _world_config(tmp_path, server.url("/feed"))
        quiet = run_on_tty()
        loud = run_on_tty("-v")
    assert "source " in quiet and "news " in quiet  # the summary table
    assert "INFO" not in quiet
    assert "INFO" in loud and "poll source=news" in loud


def test_a_repeating_warning_is_logged_once_per_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A warning marked `once` appears the first time only; other warnings always appear."""
    import logging

    from scraper.cli import logs

    logs.setup()
    log = logging.getLogger("scraper.test")
    for _ in range(3):
        log.warning("unknown report label %r", "Odd visit", extra={"once": True})
        log.warning("source failed")
    err = capsys.readouterr().err
    assert err.count("unknown report label 'Odd visit'") == 1
    assert err.count("source failed") == 3


def test_ctrl_c_stops_fetch_within_a_second_with_a_partial_summary(tmp_path: Path) -> None:
    """SIGINT during a fetch stuck on a slow server ends it within a second, exit 130, with the
    finished sources in the summary."""
    import signal
    import threading
    import time

    from tests.daemonkit import NewsFeed, feed, wait_for, write_config
    from tests.httpserver import LocalServer, Request, Response

    reached = threading.Event()

    def slow(_request: Request) -> Response:
        reached.set()
        return Response(body=b"<rss/>", delay=30.0)

    with LocalServer() as fast, LocalServer() as stuck:
        fast.route("/feed", NewsFeed(count=2))
        stuck.route("/feed", slow)
        body = feed("quick", fast.url("/feed")) + feed("slow", stuck.url("/feed"))
        db = f"sqlite:///{tmp_path}/ow.db"
        config = write_config(tmp_path / "c.toml", db, body, listen="")
        proc = subprocess.Popen(
            [sys.executable, "-m", "scraper", "--config", str(config), "fetch"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert reached.wait(30), "the slow source was never asked"
            from scraper.store import Store

            store = Store.open(db)
            wait_for(lambda: store.load_state("quick").last_success_at, what="quick stored")
            store.close()
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err
    assert took < 1.5, took
    assert b"quick" in out and b"baseline" in out
    assert b"interrupted: 1 of 2 source(s) finished" in err
    assert b"Traceback" not in err
