"""The Docker image and compose file, checked without Docker (it cannot run here): the install
step is the README's, the files it copies build a complete package, the configs validate, and
the HEALTHCHECK command really tells a healthy daemon from a stopped one."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scraper.settings.load import load_settings
from tests.daemonkit import NewsFeed, feed, running, write_config
from tests.httpserver import LocalServer

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def dockerfile_instructions(name: str) -> list[str]:
    """Arguments of every `name` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", joined, re.M)]


def test_dockerfile_installs_with_the_readme_pip_command() -> None:
    """The image installs with `pip install '.[postgres]'`, the form the README documents,
    and the `postgres` extra exists in pyproject.toml."""
    installs = [r for r in dockerfile_instructions("RUN") if "pip install" in r]
    assert len(installs) == 1
    args = [a for a in shlex.split(installs[0]) if a not in ("-q", "--quiet")]
    assert args == ["pip", "install", ".[postgres]"]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "postgres" in extras["optional-dependencies"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"pip install (-q )?'?\.(\[postgres\])?'?", readme)


def test_dockerfile_copies_enough_to_build_the_package(tmp_path: Path) -> None:
    """A build from only the files the Dockerfile copies holds the code, the council
    register and the migrations (what `pip install` in the image would install)."""
    src = tmp_path / "src"
    src.mkdir()
    for line in dockerfile_instructions("COPY"):
        *sources, _dest = shlex.split(line)
        for name in sources:
            if name.startswith("config/"):
                continue
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(path, src / name)
    out = tmp_path / "build"
    # build_py is the step of `pip install` that selects modules and package data; running it
    # alone needs no network and no `wheel` package.
    setup = [sys.executable, "-c", "import setuptools; setuptools.setup()"]
    subprocess.run(
        [*setup, "-q", "build_py", "--build-lib", str(out)],
        cwd=src,
        check=True,
        timeout=300,
        capture_output=True,
    )
    names = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert "scraper/run/daemon.py" in names
    assert any(n.startswith("scraper/data/") and n.endswith(".csv") for n in names)
    assert any(n.startswith("scraper/store/migrations/versions/") for n in names)


def test_docker_configs_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image's config and the compose config load; compose takes PostgreSQL from the
    environment; both listen where EXPOSE and the HEALTHCHECK look."""
    image = load_settings(str(ROOT / "config/docker.toml"))
    assert image.storage_url.startswith("sqlite:////data/")
    url = "postgresql+psycopg://ofsted:pw@db:5432/ofsted_watch"
    compose = load_settings(
        str(ROOT / "config/docker-compose.toml"), environ={"OFSTED_WATCH_DB_URL": url}
    )
    assert compose.storage_url == url
    for settings in (image, compose):
        assert settings.daemon.listen == "0.0.0.0:9108"
    assert dockerfile_instructions("EXPOSE") == ["9108"]
    assert "127.0.0.1:9108/healthz" in dockerfile_instructions("HEALTHCHECK")[0]
    assert dockerfile_instructions("CMD") == ['["run"]']
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "replicas: 2" in text and "image: postgres:" in text and "pg_isready" in text
    assert "./config/docker-compose.toml:" in text and "OFSTED_WATCH_DB_URL:" in text


def test_dockerfile_healthcheck_tells_healthy_from_stopped(tmp_path: Path, sqlite_url: str) -> None:
    """The HEALTHCHECK's python one-liner exits 0 against a running daemon's /healthz and
    non-zero once its scheduler has stopped."""
    check = dockerfile_instructions("HEALTHCHECK")[0]
    code = re.search(r'"-c", "(.*)"\]', check)
    assert code
    with LocalServer() as server:
        server.route("/news", NewsFeed())
        config = write_config(tmp_path / "c.toml", sqlite_url, feed("news", server.url("/news")))
        with running(config) as daemon:
            assert daemon.health is not None
            probe = code.group(1).replace("127.0.0.1:9108", daemon.health.address)
            ok = subprocess.run([sys.executable, "-c", probe], check=False, timeout=30)
            daemon.scheduler.shutdown(wait=False)
            bad = subprocess.run(
                [sys.executable, "-c", probe], check=False, timeout=30, capture_output=True
            )
    assert ok.returncode == 0
    assert bad.returncode != 0
