"""`warroom run` / `warroom check` with Slack settings, as real subprocesses."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from tests.cli_support import REPO, awarroom, closed_port, silent_listener
from tests.slack_fake import DEFAULT_SCOPES, FakeSlack

warroom = awarroom


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


def slack_env(fake: FakeSlack | None = None, **env: str) -> dict[str, str]:
    values = {
        "WARROOM_SLACK_BOT_TOKEN": "xoxb-test",
        "WARROOM_SLACK_APP_TOKEN": "xapp-test",
        "WARROOM_SLACK_API_URL": fake.api_url if fake else f"http://127.0.0.1:{closed_port()}/",
    }
    return {**values, **env}


def workspace(fake: FakeSlack) -> None:
    """What the shipped playbooks name: #incidents, and @oncall-leads to escalate to."""
    fake.add_channel("incidents")
    fake.add_user("oncall-leads")


async def test_check_lists_missing_scopes(tmp_path):
    async with FakeSlack(scopes=DEFAULT_SCOPES) as fake:
        workspace(fake)
        code, out, err = await warroom(tmp_path, "check", **slack_env(fake))
    assert code == 1
    assert out.startswith("ok: ")
    assert "ok: Slack: connected to Warroom Test as warroom" in out
    [lacking] = [line for line in err.splitlines() if "lacks scopes:" in line]
    for scope in ("channels:join", "channels:history", "groups:history", "reactions:read"):
        assert scope in lacking
    assert "pins:write" not in lacking


async def test_check_passes_with_every_scope_and_fails_on_a_bad_token(tmp_path):
    from adapters.slack.check import manifest_scopes

    async with FakeSlack(scopes=manifest_scopes()) as fake:
        workspace(fake)
        code, out, err = await warroom(tmp_path, "check", **slack_env(fake))
        assert code == 0, err
        assert "ok: Slack: connected to Warroom Test" in out
        assert "ok: Slack: the app token opens Socket Mode connections" in out
        assert "ok: Slack: every announcement channel and person the playbooks name exists" in out
        assert out.rstrip().endswith("warroom check: passed")
        env = slack_env(fake, WARROOM_SLACK_BOT_TOKEN="xoxb-wrong")
        code, _, err = await warroom(tmp_path, "check", **env)
        assert code == 1
        assert "problem: Slack: auth.test refused WARROOM_SLACK_BOT_TOKEN: invalid_auth" in err
        code, _, err = await warroom(
            tmp_path, "check", **slack_env(fake, WARROOM_SLACK_APP_TOKEN="xapp-wrong")
        )
        assert code == 1
        assert "apps.connections.open refused WARROOM_SLACK_APP_TOKEN: invalid_auth" in err


async def test_check_names_missing_channels_and_people(tmp_path):
    from adapters.slack.check import manifest_scopes

    async with FakeSlack(scopes=manifest_scopes()) as fake:
        fake.add_channel("general")
        code, _, err = await warroom(tmp_path, "check", **slack_env(fake))
    assert code == 1
    assert (
        "problem: Slack: the announcement channel #incidents (playbooks "
        "customer-facing-outage, default) does not exist or the bot cannot see it"
    ) in err
    assert (
        "warning: Slack: playbook customer-facing-outage: reminders.escalate_to "
        "`@oncall-leads` is not a user here; it will notify nobody"
    ) in err
    assert err.rstrip().endswith("warroom check: 1 problem, 2 warnings")  # default too


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"WARROOM_SLACK_BOT_TOKEN": "xapp-1-A1-2-abc"},
            "WARROOM_SLACK_BOT_TOKEN must be a bot token (xoxb-…), this one is an app-level "
            "token; copy it from the app's OAuth & Permissions page",
        ),
        (
            {"WARROOM_SLACK_BOT_TOKEN": "xoxp-123"},
            "WARROOM_SLACK_BOT_TOKEN must be a bot token (xoxb-…), this one is a user token",
        ),
        (
            {"WARROOM_SLACK_APP_TOKEN": "xoxb-123"},
            "WARROOM_SLACK_APP_TOKEN must be an app-level token (xapp-…), this one is a bot token",
        ),
        (
            {"WARROOM_SLACK_BOT_TOKEN": "xoxb-12 34"},
            "WARROOM_SLACK_BOT_TOKEN has spaces or line breaks inside",
        ),
        (
            {"WARROOM_SLACK_APP_TOKEN": None},
            "set WARROOM_SLACK_APP_TOKEN (Socket Mode) or WARROOM_SLACK_SIGNING_SECRET (HTTP mode)",
        ),
    ],
)
async def test_check_refuses_token_shapes_before_the_network(tmp_path, env, said):
    async with FakeSlack() as fake:
        code, _, err = await warroom(tmp_path, "check", **slack_env(fake, **env))
        if "WARROOM_SLACK_BOT_TOKEN" in env:  # a bot token that cannot work: no request at all
            assert fake.calls == []
    assert code == 1
    assert f"problem: Slack: {said}" in err
    assert "unreachable" not in err and "Traceback" not in err


async def test_check_names_a_silent_slack_and_the_time_it_was_given(tmp_path):
    with silent_listener() as port:
        api = f"http://127.0.0.1:{port}/api/"
        env = slack_env(WARROOM_SLACK_API_URL=api, WARROOM_CONNECT_TIMEOUT="1")
        code, _, err = await warroom(tmp_path, "check", **env)
    assert code == 1
    assert (
        f"problem: Slack: no answer from {api}auth.test within 1 s; check "
        "WARROOM_SLACK_API_URL and the network"
    ) in err
    assert "Traceback" not in err


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
