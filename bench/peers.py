"""ofsted-watch beside urlwatch and rss2email, each doing the same work on one loopback world.

    python bench/peers.py [--repeats 5] [--sources 200] [--hosts 20] [--latency 0.05]
                          [--tools ofsted-watch,urlwatch,rss2email] [--venvs DIR]

urlwatch 2.29 and rss2email 3.14 are installed by pip into throwaway venvs under a temp dir
(reused by later runs; never project dependencies). Every tool runs as its own command line in a
fresh process; wall time, CPU time (user + system) and peak RSS come from wait4() on that
process, so they cover its whole tree. Four scenarios, each tool in turn (the order rotated per
repeat), every repeat from empty state; the table shows medians and ratios:

  first    first poll, every feed new (the baseline)
  304      every feed answers 304 to the stored ETag
  one-new  every feed has 1 new item (49 of 50 already seen)
  one-off  one feed, polled alone, with 1 new item
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedworld import FeedWorld

PEERS = {"urlwatch": ("urlwatch==2.29", "urlwatch"), "rss2email": ("rss2email==3.14", "r2e")}
TOOLS = ("ofsted-watch", "urlwatch", "rss2email")


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    version: int  # the feeds' window position while it runs
    one_feed: bool = False


SCENARIOS = (
    Scenario("first", "first poll, all feeds new", 0),
    Scenario("304", "every feed answers 304", 0),
    Scenario("one-new", "every feed has 1 new item", 1),
    Scenario("one-off", "one feed, one-off", 2, one_feed=True),
)


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    rss_mb: float
    requests: int


# -- the tools ------------------------------------------------------------------------------


class Tool:
    """How one tool is configured over the feeds and started for one poll."""

    name = ""

    def __init__(self, venvs: Path, args: argparse.Namespace) -> None:
        self.venvs, self.args = venvs, args

    def setup(self, state: Path, urls: list[str]) -> None:
        raise NotImplementedError

    def argv(self, state: Path, one: int | None) -> list[str]:
        raise NotImplementedError

    def env(self, state: Path) -> dict[str, str]:
        # HOME in the state dir: no tool reads or writes the user's own config.
        return {**os.environ, "HOME": str(state), "XDG_CONFIG_HOME": str(state / ".config")}


class OfstedWatch(Tool):
    name = "ofsted-watch"

    def setup(self, state: Path, urls: list[str]) -> None:
        sources = "".join(
            f'[[sources]]\nname = "s{i}"\ntype = "feed"\nurl = "{url}"\n'
            for i, url in enumerate(urls)
        )
        (state / "ofsted-watch.toml").write_text(
            f'[storage]\nurl = "sqlite:///{state}/ofsted-watch.db"\n'
            f"[http]\nallow_private = true\nmin_interval = {self.args.min_interval}\n"
            'retries = 0\n[daemon]\nlisten = ""\n'
            '[watchlist]\ncouncils = ["Reading", "Leeds", "Kent", "Cornwall"]\n' + sources
        )

    def argv(self, state: Path, one: int | None) -> list[str]:
        argv = [sys.executable, "-m", "scraper", "--config", str(state / "ofsted-watch.toml")]
        return [*argv, "fetch", *(["--source", f"s{one}"] if one is not None else [])]


class Urlwatch(Tool):
    name = "urlwatch"

    def setup(self, state: Path, urls: list[str]) -> None:
        jobs = "---\n".join(f"name: s{i}\nurl: {url}\n" for i, url in enumerate(urls))
        (state / "urls.yaml").write_text(jobs)
        (state / "urlwatch.yaml").write_text("report:\n  stdout:\n    color: false\n")

    def argv(self, state: Path, one: int | None) -> list[str]:
        exe = self.venvs / "urlwatch" / "bin" / "urlwatch"
        argv = [str(exe), "--urls", str(state / "urls.yaml")]
        argv += ["--config", str(state / "urlwatch.yaml"), "--cache", str(state / "cache.db")]
        return [*argv, *([str(one + 1)] if one is not None else [])]  # jobs count from 1


class Rss2email(Tool):
    name = "rss2email"

    def setup(self, state: Path, urls: list[str]) -> None:
        feeds = "".join(f"[feed.s{i}]\nurl = {url}\n" for i, url in enumerate(urls))
        (state / "r2e.cfg").write_text("[DEFAULT]\nto = bench@example.invalid\n" + feeds)

    def argv(self, state: Path, one: int | None) -> list[str]:
        exe = self.venvs / "rss2email" / "bin" / "r2e"
        argv = [str(exe), "-c", str(state / "r2e.cfg"), "-d", str(state / "r2e.json")]
        return [*argv, "run", "--no-send", *([f"s{one}"] if one is not None else [])]


TOOL_CLASSES: dict[str, type[Tool]] = {
    "ofsted-watch": OfstedWatch,
    "urlwatch": Urlwatch,
    "rss2email": Rss2email,
}


def install_peers(venvs: Path, names: Sequence[str]) -> None:
    """pip-install each peer into its own venv, unless an earlier run left it there."""
    for name in names:
        spec, exe = PEERS[name]
        home = venvs / name
        if (home / "bin" / exe).exists() and (home / "installed").read_text() == spec:
            continue
        shutil.rmtree(home, ignore_errors=True)
        print(f"installing {spec} into {home} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "-q", spec]
        subprocess.run(pip, check=True, stderr=subprocess.DEVNULL)
        (home / "installed").write_text(spec)


# -- measuring ------------------------------------------------------------------------------


def measure(argv: list[str], env: dict[str, str], cwd: Path, world: FeedWorld) -> Run:
    """Run one command to completion; its own rusage from wait4 covers its child tree."""
    with world.requests.get_lock():
        world.requests.value = 0
    log = cwd / "last.log"
    with log.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        tail = log.read_text(errors="replace")[-2000:]
        print(f"  ! {argv[0]} exited {proc.returncode}: {tail}", file=sys.stderr)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, world.requests.value)


def run_all(
    tools: list[Tool], world: FeedWorld, repeats: int, tmp: Path
) -> dict[tuple[str, str], list[Run]]:
    runs: dict[tuple[str, str], list[Run]] = {}
    urls = world.urls()
    for r in range(repeats):
        order = tools[r % len(tools) :] + tools[: r % len(tools)]
        states = {t.name: tmp / f"{t.name}-{r}" for t in tools}
        for tool in tools:
            states[tool.name].mkdir()
            tool.setup(states[tool.name], urls)
        for sc in SCENARIOS:
            world.version.value = sc.version
            for tool in order:
                state = states[tool.name]
                one = 0 if sc.one_feed else None
                run = measure(tool.argv(state, one), tool.env(state), state, world)
                runs.setdefault((tool.name, sc.key), []).append(run)
                print(
                    f"  repeat {r + 1} {sc.key:8} {tool.name:13} {run.wall:6.2f} s "
                    f"cpu {run.cpu:5.2f} s rss {run.rss_mb:4.0f} MB req {run.requests}",
                    flush=True,
                )
    return runs


# -- the table ------------------------------------------------------------------------------


def median_run(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        statistics.median(r.rss_mb for r in runs),
        int(statistics.median(r.requests for r in runs)),
    )


def cell(run: Run | None) -> str:
    if run is None:
        return "–"
    return f"{run.wall:.2f} s ({run.cpu:.2f} s CPU), {run.rss_mb:.0f} MB, {run.requests} req"


def ratio(ours: Run | None, theirs: Run | None) -> str:
    return f"{ours.wall / theirs.wall:.2f}×" if ours and theirs else "–"


def table(runs: dict[tuple[str, str], list[Run]], names: Sequence[str]) -> str:
    med = {key: median_run(v) for key, v in runs.items()}
    lines = [
        f"| scenario | {' | '.join(names)} | ofsted-watch ÷ urlwatch | ÷ rss2email |",
        "|---" * (len(names) + 3) + "|",
    ]
    for sc in SCENARIOS:
        ours = med.get(("ofsted-watch", sc.key))
        cells = [cell(med.get((n, sc.key))) for n in names]
        u, r = med.get(("urlwatch", sc.key)), med.get(("rss2email", sc.key))
        lines.append(f"| {sc.label} | {' | '.join(cells)} | {ratio(ours, u)} | {ratio(ours, r)} |")
    return "\n".join(lines)


GOALS = (  # (scenario, peer, the most ofsted-watch's wall time may be, as a multiple)
    ("one-new", "urlwatch", 0.5),
    ("first", "urlwatch", 1.0),
    ("304", "urlwatch", 0.8),
    ("one-off", "rss2email", 2.0),
)


def goals(runs: dict[tuple[str, str], list[Run]]) -> list[str]:
    med = {key: median_run(v) for key, v in runs.items()}
    out = []
    for key, peer, limit in GOALS:
        ours, theirs = med.get(("ofsted-watch", key)), med.get((peer, key))
        if ours and theirs:
            got = ours.wall / theirs.wall
            verdict = "met" if got <= limit else f"MISSED by {got / limit:.2f}×"
            out.append(f"{key}: {got:.2f}× {peer} (goal ≤ {limit}×) {verdict}")
    ours, theirs = med.get(("ofsted-watch", "first")), med.get(("urlwatch", "first"))
    if ours and theirs:
        verdict = "met" if ours.rss_mb <= theirs.rss_mb else "MISSED"
        out.append(
            f"peak RSS, first poll: {ours.rss_mb:.0f} MB vs urlwatch {theirs.rss_mb:.0f} MB "
            f"{verdict}"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument(
        "--min-interval",
        type=float,
        default=0.05,
        help="ofsted-watch's [http] min_interval (the peers keep no gap between requests)",
    )
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument(
        "--venvs", type=Path, default=Path(tempfile.gettempdir()) / "ofsted-watch-peers"
    )
    args = ap.parse_args()
    names = [n for n in TOOLS if n in args.tools.split(",")]
    install_peers(args.venvs, [n for n in names if n in PEERS])
    tools = [TOOL_CLASSES[n](args.venvs, args) for n in names]
    print(
        f"{args.sources} feeds on {args.hosts} loopback ports, {args.latency * 1000:.0f} ms "
        f"latency; {args.repeats} repeats; {os.cpu_count()} CPUs"
    )
    per_host = args.sources // args.hosts
    with (
        FeedWorld(args.hosts, per_host, args.latency) as world,
        tempfile.TemporaryDirectory(prefix="peers-") as tmp,
    ):
        runs = run_all(tools, world, args.repeats, Path(tmp))
    print(f"\nmedians of {args.repeats} (wall, CPU, peak RSS, requests):\n")
    print(table(runs, names))
    print()
    for line in goals(runs):
        print(line)


if __name__ == "__main__":
    main()
