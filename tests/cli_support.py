"""Running `warroom` as a real subprocess in a scratch working directory, and the
loopback endpoints that misbehave for it: a closed port, and a listener that never
answers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLAYBOOKS = REPO / "playbooks"
# Generous: a run that needs it has hung; the assertion then names the command.
PROCESS_TIMEOUT = 120


def environment(tmp_path: Path, **env: str | None) -> dict[str, str]:
    """The test's environment without any WARROOM_ setting of the machine running it,
    plus a SQLite file in `tmp_path`, the repo's playbooks, any free HTTP port, and `env`
    (a None value unsets that variable: WARROOM_PLAYBOOKS_DIR=None, say)."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    values.update(
        WARROOM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}",
        WARROOM_PLAYBOOKS_DIR=str(PLAYBOOKS),
        WARROOM_LOG_LEVEL="WARNING",
        WARROOM_HTTP_PORT="0",  # any free port: runs may overlap, 8080 may be taken
        PYTHONPATH=str(REPO),
        PYTHONIOENCODING="utf-8",
    )
    for name, value in env.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    return values


def warroom(
    tmp_path: Path,
    *args: str,
    stdin: str = "",
    playbooks: Path | None = PLAYBOOKS,
    cwd: Path | None = None,
    **env: str | None,
) -> subprocess.CompletedProcess[str]:
    """`python -m bot.cli ARGS` in `cwd` (default `tmp_path`), to completion."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd or tmp_path,
        env=environment(
            tmp_path, WARROOM_PLAYBOOKS_DIR=str(playbooks) if playbooks else None, **env
        ),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )


async def start(tmp_path: Path, *args: str, **env: str | None) -> asyncio.subprocess.Process:
    """`python -m bot.cli ARGS` in `tmp_path`, running, with stdout and stderr piped
    (`env` as for `environment`; WARROOM_PLAYBOOKS_DIR=None leaves the setting unset)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process, what: str) -> tuple[int, str, str]:
    """Wait for a started process to end: (exit status, stdout, stderr)."""
    try:
        out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"warroom {what} did not end within {PROCESS_TIMEOUT} s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def awarroom(tmp_path: Path, *args: str, **env: str | None) -> tuple[int, str, str]:
    """`warroom ARGS` to completion, without blocking the event loop (for tests whose
    fakes run on it)."""
    proc = await start(tmp_path, *args, **env)
    return await finish(proc, " ".join(args))


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port whose connections are accepted (by the kernel's backlog) and
    never answered: a database, Slack or Discord that hangs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield s.getsockname()[1]


def one_line(stderr: str) -> str:
    """The only line on stderr; fails, showing stderr, if there are more or none."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]
