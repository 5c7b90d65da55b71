"""A non-editable install: the wheel is built from a copy of the sources (offline, with
the setuptools of the dev extras), installed into a folder of its own, and `warroom check`
run from there in an empty working directory finds the playbooks shipped inside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.cli_support import PLAYBOOKS, PROCESS_TIMEOUT, REPO, environment

SOURCES = ("bot", "adapters", "storage", "bench", "playbooks", "pyproject.toml", "README.md")


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_wheel_ships_the_playbooks_and_builds_without_deprecations(tmp_path: Path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(path, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy(path, source / name)
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
    log = _run(*build, "--no-index", "-w", dist, source, cwd=tmp_path)
    assert "Deprecat" not in log and "project.license" not in log, log

    [wheel] = dist.glob("warroom-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = sorted(n for n in archive.namelist() if n.startswith("bot/shipped_playbooks/"))
    assert shipped == sorted(f"bot/shipped_playbooks/{p.name}" for p in PLAYBOOKS.glob("*.yaml"))

    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index"]
    _run(*install, "--target", site, wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = environment(elsewhere, WARROOM_PLAYBOOKS_DIR=None, PYTHONPATH=str(site))
    where = _run(sys.executable, "-c", "import bot; print(bot.__file__)", cwd=elsewhere, env=env)
    assert where.strip() == str(site / "bot" / "__init__.py")
    checked = _run(sys.executable, "-m", "bot.cli", "check", cwd=elsewhere, env=env)
    names = ", ".join(sorted(p.stem for p in PLAYBOOKS.glob("*.yaml")))
    assert f"playbooks ({names})" in checked
