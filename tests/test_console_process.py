"""`warroom run` / `warroom console` as a person meets them: real processes in a scratch
directory with no chat tokens, fed the README's input, or interrupted at the prompt."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PLAYBOOKS, REPO
from tests.terminal_support import Terminal

# Generous upper bounds: a run that needs them has hung, and the failure says so.
RUN_TIMEOUT = 120
EXIT_TIMEOUT = 30
DECLARED = re.compile(r"Declared \*\*INC-(\d+)\*\*")


def environment(tmp_path: Path) -> dict[str, str]:
    """No WARROOM_ setting of the machine running the test: no chat token, so `run`
    opens the console; a SQLite file in `tmp_path`; any free HTTP port."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    values.update(
        WARROOM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}",
        WARROOM_PLAYBOOKS_DIR=str(PLAYBOOKS),
        WARROOM_HTTP_PORT="0",
        PYTHONPATH=str(REPO),
        PYTHONIOENCODING="utf-8",
    )
    return values


def readme_input() -> str:
    """The lines README.md offers under "In the console, try:"."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"In the console, try:\s*```\n(.*?)```", text, re.S)
    assert block is not None, "README.md lost its console example"
    return block.group(1)


def run_with(tmp_path: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=environment(tmp_path),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def test_the_readme_input_twice_on_one_database_declares_inc_1_then_inc_2(tmp_path: Path):
    lines = readme_input()
    assert "/incident declare" in lines
    for number in (1, 2):
        out = run_with(tmp_path, lines)
        shown = f"--- stdout ---\n{out.stdout}\n--- stderr ---\n{out.stderr}"
        assert out.returncode == 0, shown
        assert [int(n) for n in DECLARED.findall(out.stdout)] == [number], shown
        for bad in ("Traceback", "sqlalchemy", "IntegrityError", "UNIQUE constraint", "Sorry"):
            assert bad not in out.stdout + out.stderr, shown
    assert out.stdout.count("(warroom's log: ") == 1, shown


@pytest.mark.parametrize("command", ["console", "run"])
@pytest.mark.parametrize("interrupts", [1, 2])
async def test_ctrl_c_at_the_prompt_says_bye_and_exits(
    tmp_path: Path, command: str, interrupts: int
) -> None:
    """On a terminal (a pty): Ctrl-C while the console waits for a line ends it at once,
    with "bye"; a second Ctrl-C straight after (while it shuts down) adds no traceback."""
    async with Terminal.start(
        [sys.executable, "-m", "bot.cli", command], cwd=tmp_path, env=environment(tmp_path)
    ) as term:
        await term.expect("you in #general> ")
        for _ in range(interrupts):
            term.proc.send_signal(signal.SIGINT)
        code = await term.exit(EXIT_TIMEOUT)
        shown = term.text()
        assert code == 0, shown
        assert "bye" in shown.splitlines()[-1], shown
        assert "Traceback" not in shown and "KeyboardInterrupt" not in shown, shown


async def test_ctrl_c_while_a_script_feeds_the_console(tmp_path: Path) -> None:
    """Standard input is a pipe that stays open and silent: Ctrl-C still ends it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "console",
        cwd=tmp_path,
        env=environment(tmp_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"/incident help\n")
    await proc.stdin.drain()
    seen = b""
    async with asyncio.timeout(RUN_TIMEOUT):  # until it has answered the line
        while b"/incident declare" not in seen:
            chunk = await proc.stdout.read(4096)
            assert chunk, seen.decode(errors="replace")
            seen += chunk
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    try:
        async with asyncio.timeout(EXIT_TIMEOUT):
            rest, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        shown = seen.decode(errors="replace")
        raise AssertionError(f"still running {EXIT_TIMEOUT} s after Ctrl-C:\n{shown}") from None
    shown = (seen + rest).decode(errors="replace")
    assert proc.returncode == 0, shown
    assert shown.rstrip().endswith("bye"), shown
    assert "Traceback" not in shown, shown
