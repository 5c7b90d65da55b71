"""`warroom run` / `warroom check` with Slack settings, as real subprocesses."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.slack_fake import DEFAULT_SCOPES, FakeSlack

REPO = Path(__file__).resolve().parent.parent


async def warroom(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    environment.update(
        WARROOM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}",
        WARROOM_PLAYBOOKS_DIR=str(REPO / "playbooks"),
        WARROOM_LOG_LEVEL="WARNING",
        WARROOM_HTTP_PORT="0",  # any free port: runs may overlap, 8080 may be taken
        PYTHONPATH=str(REPO),
        PYTHONIOENCODING="utf-8",
        **env,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=tmp_path,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_run_with_a_bot_token_alone_explains_what_is_missing(tmp_path):
    code, _, err = await warroom(tmp_path, "run", WARROOM_SLACK_BOT_TOKEN="xoxb-test")
    assert code == 2
    assert "WARROOM_SLACK_APP_TOKEN" in err and "WARROOM_SLACK_SIGNING_SECRET" in err
    assert "Traceback" not in err


async def test_discord_without_a_guild_explains_what_is_missing(tmp_path):
    code, _, err = await warroom(tmp_path, "run", WARROOM_DISCORD_TOKEN="x")
    assert code == 2 and "WARROOM_DISCORD_GUILD_IDS" in err
    assert "Traceback" not in err


async def test_discord_unreachable_fails_clearly(tmp_path):
    env = {
        "WARROOM_DISCORD_TOKEN": "x",
        "WARROOM_DISCORD_GUILD_IDS": "123",
        "WARROOM_DISCORD_API_URL": "http://127.0.0.1:1/api/v10",
        "WARROOM_DISCORD_GATEWAY_URL": "ws://127.0.0.1:1/",
    }
    code, _, err = await warroom(tmp_path, "run", **env)
    assert code == 2 and "could not be reached" in err
    assert "Traceback" not in err


async def test_check_lists_missing_scopes(tmp_path):
    async with FakeSlack(scopes=DEFAULT_SCOPES) as fake:
        env = {
            "WARROOM_SLACK_BOT_TOKEN": "xoxb-test",
            "WARROOM_SLACK_APP_TOKEN": "xapp-test",
            "WARROOM_SLACK_API_URL": fake.api_url,
        }
        code, out, err = await warroom(tmp_path, "check", **env)
        assert code == 1
        assert out.startswith("ok: ")
        assert "connected to Warroom Test as warroom" in err
        for scope in ("channels:join", "channels:history", "groups:history", "reactions:read"):
            assert scope in err
        assert "pins:write" not in err.split("lacks scopes:")[1].splitlines()[0]


async def test_check_passes_with_every_scope_and_fails_on_a_bad_token(tmp_path):
    from adapters.slack.check import manifest_scopes

    async with FakeSlack(scopes=manifest_scopes()) as fake:
        env = {
            "WARROOM_SLACK_BOT_TOKEN": "xoxb-test",
            "WARROOM_SLACK_APP_TOKEN": "xapp-test",
            "WARROOM_SLACK_API_URL": fake.api_url,
        }
        code, out, err = await warroom(tmp_path, "check", **env)
        assert code == 0, err
        assert "connected to Warroom Test" in out
        code, _, err = await warroom(
            tmp_path, "check", **{**env, "WARROOM_SLACK_BOT_TOKEN": "xoxb-wrong"}
        )
        assert code == 1 and "invalid_auth" in err


async def test_run_connects_in_socket_mode_and_stops_on_sigterm(tmp_path):
    async with FakeSlack() as fake:
        general = fake.add_channel("general", members=[alice := fake.add_user("alice")])
        environment = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
        environment.update(
            WARROOM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'warroom.db'}",
            WARROOM_PLAYBOOKS_DIR=str(REPO / "playbooks"),
            WARROOM_LOG_LEVEL="WARNING",
            WARROOM_HTTP_PORT="0",  # any free port: runs may overlap, 8080 may be taken
            WARROOM_SLACK_BOT_TOKEN="xoxb-test",
            WARROOM_SLACK_APP_TOKEN="xapp-test",
            WARROOM_SLACK_API_URL=fake.api_url,
            PYTHONPATH=str(REPO),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_connected(timeout_s=30)
            await fake.send_envelope("slash_commands", fake.slash_command("help", alice, general))
            for _ in range(100):
                if fake.responses:
                    break
                await asyncio.sleep(0.1)
            assert fake.responses and "/incident" in str(fake.responses[0])
        finally:
            proc.terminate()
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert "Traceback" not in err.decode()
        fake.assert_clean()


async def test_run_with_a_refused_bot_token_says_so_without_a_traceback(tmp_path):
    async with FakeSlack() as fake:
        env = {
            "WARROOM_SLACK_BOT_TOKEN": "xoxb-wrong",
            "WARROOM_SLACK_APP_TOKEN": "xapp-test",
            "WARROOM_SLACK_API_URL": fake.api_url,
        }
        code, _, err = await warroom(tmp_path, "run", **env)
    assert code == 2
    assert "Slack did not accept WARROOM_SLACK_BOT_TOKEN" in err and "invalid_auth" in err
    assert "Traceback" not in err


async def test_run_with_a_refused_app_token_stops_instead_of_retrying(tmp_path):
    async with FakeSlack() as fake:
        env = {
            "WARROOM_SLACK_BOT_TOKEN": "xoxb-test",
            "WARROOM_SLACK_APP_TOKEN": "xapp-wrong",
            "WARROOM_SLACK_API_URL": fake.api_url,
        }
        code, _, err = await warroom(tmp_path, "run", **env)
    assert code == 2
    assert "Slack refused WARROOM_SLACK_APP_TOKEN" in err and "connections:write" in err
    assert "Traceback" not in err
