"""Architecture boundaries: the core imports no chat SDK, and importing does nothing."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORE = ("bot", "storage")
PACKAGES = ("bot", "storage", "adapters")
FORBIDDEN = frozenset({"slack_bolt", "slack_sdk", "discord", "aiohttp", "adapters"})
# The `warroom` command chooses a platform at run time, so it alone may reach the adapters,
# and only lazily (inside the function that runs that platform), never a chat SDK itself.
ENTRY_POINT = "bot/cli.py"
# Alembic's environment script runs migrations when executed; it is not an importable module.
NOT_MODULES = frozenset({"storage.migrations.env"})


def python_files(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (REPO / pkg).rglob("*.py"))


def forbidden_imports(
    source: str, filename: str = "<source>", *, allowed: frozenset[str] = frozenset()
) -> list[str]:
    """`file:line module` for every import of a forbidden top-level package."""
    found: list[str] = []
    banned = FORBIDDEN - allowed
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{filename}:{node.lineno} {n}" for n in names if n.split(".")[0] in banned]
    return found


def module_names(*packages: str) -> list[str]:
    names = []
    for path in python_files(*packages):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if name not in NOT_MODULES and parts[-1] != "__main__":
            names.append(name)
    return names


# --- (a) the core imports no chat SDK ----------------------------------------------------


def test_the_core_imports_no_chat_sdk_or_adapter():
    files = python_files(*CORE)
    assert len(files) > 20, "the core's files were not found"
    offenders = []
    for path in files:
        name = str(path.relative_to(REPO))
        allowed = frozenset({"adapters"}) if name == ENTRY_POINT else frozenset()
        offenders += forbidden_imports(path.read_text(encoding="utf-8"), name, allowed=allowed)
    assert offenders == []


def test_the_entry_point_reaches_adapters_only_lazily():
    tree = ast.parse((REPO / ENTRY_POINT).read_text(encoding="utf-8"))
    top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert len(top_level) > 3
    assert forbidden_imports("\n".join(ast.unparse(n) for n in top_level), ENTRY_POINT) == []


@pytest.mark.parametrize(
    "source",
    [
        "import slack_sdk",
        "from slack_bolt.async_app import AsyncApp",
        "import os, discord.ext.commands",
        "from aiohttp import web",
        "from adapters.console.port import ConsolePort",
        "def f():\n    import discord\n",
    ],
)
def test_the_import_check_catches_every_form(source):
    assert len(forbidden_imports(source)) == 1


def test_the_import_check_allows_the_core_own_imports():
    source = "from bot.port import ChatPort\nimport sqlalchemy\nfrom . import tables\n"
    assert forbidden_imports(source) == []


# --- (b) nothing happens at import time --------------------------------------------------

PROBE = """
import importlib, json, os, sys

cwd = os.path.realpath(os.getcwd())
seen = []

def inside(path):
    try:
        full = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return full == cwd or full.startswith(cwd + os.sep) or os.path.basename(full) == ".env"

WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT

def touches(event, args):
    if not args or isinstance(args[0], int) or not inside(args[0]):
        return False
    if event == "os.mkdir":
        return True
    mode, flags = (list(args[1:3]) + [None, None])[:2]
    writing = any(c in (mode or "") for c in "wax+") or bool((flags or 0) & WRITE)
    return writing or os.path.exists(os.fsdecode(args[0]))

def hook(event, args):
    if event in ("open", "os.mkdir") and touches(event, args):
        seen.append([event, os.fsdecode(args[0])])
    elif event in ("sqlite3.connect", "socket.connect", "subprocess.Popen"):
        seen.append([event, repr(args[:1])])

sys.addaudithook(hook)
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append([name, repr(exc)])
print(json.dumps({"seen": seen, "failed": failed, "count": len(sys.argv) - 1}))
"""

BAD_SETTINGS = {
    "WARROOM_DATABASE_URL": "not-a-database-url:::",
    "WARROOM_TIMEZONE": "Nowhere/Invalid",
    "WARROOM_SEVERITIES": "",
    "WARROOM_DEMO_SPEED": "-1",
}


def import_everything(cwd: Path) -> dict[str, list[list[str]] | int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(BAD_SETTINGS)
    modules = module_names(*PACKAGES)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, list[list[str]] | int] = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["count"] == len(modules) > 30
    return result


def test_importing_every_module_touches_nothing(tmp_path):
    result = import_everything(tmp_path)
    assert result["failed"] == []
    assert result["seen"] == []
    assert list(tmp_path.iterdir()) == []


def test_importing_every_module_reads_no_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "WARROOM_DATABASE_URL=sqlite+aiosqlite:///from-dotenv.db\nWARROOM_TIMEZONE=x\n"
    )
    result = import_everything(tmp_path)
    assert result["failed"] == []
    assert result["seen"] == []
    assert list(tmp_path.iterdir()) == [dotenv]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("open('created-at-import.db', 'w').close()", ["open", "created-at-import.db"]),
        ("open('.env').read()", ["open", ".env"]),
        ("from bot.config import Settings\nSettings()", ["open", ".env"]),
        ("import sqlite3\nsqlite3.connect(':memory:')", ["sqlite3.connect", "(':memory:',)"]),
    ],
)
def test_the_probe_notices_side_effects(tmp_path, source, expected):
    (tmp_path / "noisy_module.py").write_text(source + "\n")
    (tmp_path / ".env").write_text("WARROOM_LOG_LEVEL=DEBUG\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "noisy_module"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["failed"] == []
    assert expected in [[event, os.path.basename(what)] for event, what in result["seen"]]
