"""Start-up cost per command: wall and CPU time, peak RSS and import time of a fresh interpreter.

    python bench/startup.py [--repeats 5]

Each command runs in its own process (medians of `--repeats`): `--help`, `councils Reading`,
a one-off `fetch` of one loopback feed (schema already current), and `run`'s imports (the
daemon itself never exits, so its command module and the daemon module are imported alone).
"Import" is the sum of the top-level cumulative times `python -X importtime` reports.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedworld import FeedWorld

ROOT = Path(__file__).resolve().parent.parent
_TOP = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| \S")  # a module imported at top level


def run(argv: list[str]) -> tuple[float, float, float, float]:
    """(wall s, CPU s, peak RSS MB, import s) of one fresh interpreter running argv."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    _pid, _status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    imports = sum(int(m.group(1)) for m in map(_TOP.match, err.splitlines()) if m) / 1e6
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, imports


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with FeedWorld(1, 1, 0.0) as world, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "c.toml"
        config.write_text(
            f'[storage]\nurl = "sqlite:///{tmp}/w.db"\n[http]\nallow_private = true\n'
            '[watchlist]\ncouncils = ["Reading"]\n'
            f'[[sources]]\nname = "one"\ntype = "feed"\nurl = "{world.urls()[0]}"\n'
        )
        cli = ["-m", "scraper", "--config", str(config)]
        subprocess.run([sys.executable, *cli, "db", "upgrade"], check=True, capture_output=True)
        commands = {
            "--help": ["-m", "scraper", "--help"],
            "councils": ["-m", "scraper", "councils", "Reading"],
            "fetch (1 feed)": [*cli, "fetch"],
            "run (imports)": ["-c", "import scraper.cli.polling, scraper.run.daemon"],
        }
        print(f"{'command':16} {'wall':>7} {'CPU':>7} {'RSS':>7} {'imports':>8}")
        for name, argv in commands.items():
            runs = [run(argv) for _ in range(args.repeats)]
            wall, cpu, rss, imp = (statistics.median(col) for col in zip(*runs, strict=True))
            print(f"{name:16} {wall:6.2f}s {cpu:6.2f}s {rss:5.0f}MB {imp:7.3f}s")


if __name__ == "__main__":
    main()
