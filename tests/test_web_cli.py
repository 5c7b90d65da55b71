"""`warroom run` serves HTTP beside the console; a taken address stops it with exit 2."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    values.update(
        WARROOM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}",
        WARROOM_PLAYBOOKS_DIR=str(REPO / "playbooks"),
        WARROOM_LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
        PYTHONIOENCODING="utf-8",
        **env,
    )
    return values


async def start(tmp_path: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=tmp_path,
        env=environment(tmp_path, **env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_on_a_taken_port_exits_2_naming_the_address(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await start(tmp_path, "run", WARROOM_HTTP_PORT=str(port))
        _, err = await asyncio.wait_for(proc.communicate(b""), 60)
    text = err.decode()
    assert proc.returncode == 2, text
    assert f"127.0.0.1:{port}" in text and "WARROOM_HTTP_PORT" in text
    assert "Traceback" not in text


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def served_port(proc: asyncio.subprocess.Process, log: Path) -> int:
    """The port `warroom run` says it serves on. With the console, its log goes to
    warroom.log in the working directory (the terminal is the chat pane)."""
    async with asyncio.timeout(60):
        while True:
            text = await asyncio.to_thread(read, log)
            if found := re.search(r"serving HTTP on http://127\.0\.0\.1:(\d+)", text):
                return int(found[1])
            assert proc.returncode is None, "warroom run ended before serving HTTP"
            await asyncio.sleep(0.05)


async def test_run_serves_http_beside_the_console(tmp_path: Path):
    proc = await start(tmp_path, "run", WARROOM_HTTP_PORT="0", WARROOM_HOOK_TOKEN="t")
    assert proc.stdin is not None and proc.stderr is not None
    try:
        port = await served_port(proc, tmp_path / "warroom.log")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200 and await r.json() == {"status": "ok"}
            hook = f"http://127.0.0.1:{port}/hooks/generic"
            async with http.post(hook, json={"title": "x"}) as r:
                assert r.status == 401
    finally:
        proc.stdin.close()
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert out.decode().rstrip().endswith("bye")


async def test_console_opens_no_server(tmp_path: Path):
    proc = await start(tmp_path, "console", WARROOM_HTTP_PORT="0")
    _, err = await asyncio.wait_for(proc.communicate(b""), 60)
    assert proc.returncode == 0, err.decode()
    assert "serving HTTP" not in err.decode()
