"""A quiet start: no warning that is not about warroom's own setup. discord.py's voice
and Guilds-intent warnings, and the console binding port 8080 nobody asked for. Real
subprocesses; stderr captured whole."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli_support import awarroom, finish, start, warroom
from tests.discord_fake import FakeDiscord
from tests.discord_gateway import ALL_PERMISSIONS

DISCORD_NOISE = ("PyNaCl", "davey", "voice will NOT be supported", "Guilds intent")


def discord_env(fake: FakeDiscord) -> dict[str, str]:
    return {
        "WARROOM_DISCORD_TOKEN": fake.token,
        "WARROOM_DISCORD_GUILD_IDS": fake.guild_id,
        "WARROOM_DISCORD_API_URL": fake.api_base,
        "WARROOM_DISCORD_GATEWAY_URL": fake.gateway_url,
        "WARROOM_LOG_LEVEL": "INFO",
    }


async def test_discord_run_and_check_log_no_voice_or_intent_warning(tmp_path: Path):
    async with FakeDiscord() as fake:
        fake.add_member("alice")
        fake.everyone_permissions = ALL_PERMISSIONS
        proc = await start(tmp_path, "run", **discord_env(fake))
        await fake.wait_ready(within=60)
        proc.terminate()
        code, _, run_err = await finish(proc, "run")
        _, _, check_err = await awarroom(tmp_path, "check", **discord_env(fake))
    assert code == 0, run_err
    assert "connected to Discord as" in run_err  # INFO is on: warnings would show
    for noise in DISCORD_NOISE:
        assert noise not in run_err + check_err


@contextmanager
def port_8080_taken() -> Iterator[None]:
    """127.0.0.1:8080 is listened on for the duration, by this test or by someone else."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 8080))
            s.listen()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
        yield


@pytest.mark.parametrize("command", ["run", "console"])
def test_the_console_binds_no_port_unless_asked(tmp_path: Path, command: str):
    with port_8080_taken():
        out = warroom(
            tmp_path,
            command,
            stdin="/incident declare SEV3 Login slow\n",
            WARROOM_HTTP_PORT=None,
            WARROOM_LOG_LEVEL="INFO",
        )
    assert out.returncode == 0, out.stderr  # binding the taken 8080 would have ended it (2)
    assert "Declared **INC-1** (SEV3)" in out.stdout
    log = tmp_path / "warroom.log"  # where the console may send its log
    logged = out.stderr + (log.read_text() if log.exists() else "")
    assert "serving HTTP" not in logged and "8080" not in logged
    if command == "run":
        assert "The HTTP server (alert hooks, /healthz, /metrics) is off" in out.stdout


def test_a_hook_token_asks_the_console_run_to_serve_http(tmp_path: Path):
    with port_8080_taken():  # asked for, on the default port: taken, so it says so
        out = warroom(tmp_path, "run", WARROOM_HTTP_PORT=None, WARROOM_HOOK_TOKEN="t")
    assert out.returncode == 2
    assert "cannot serve HTTP on 127.0.0.1:8080" in out.stderr
    assert "Traceback" not in out.stderr
