"""`warroom check` for Discord against the loopback FakeDiscord: the token logs in (or is
refused), the application's flags say whether Message Content is on, the guild
permissions the bot lacks are listed, and the playbooks' announcement channels and people
are looked up over REST. Settings that cannot work are refused before any request, and a
Discord that never answers is named with the time it was given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
import yarl

from adapters.discord.check import check
from adapters.discord.server import point_at, probe
from bot.domain.severity import SeverityScale
from bot.playbooks import PlaybookSet, load_playbooks
from tests import discord_gateway as gw
from tests import discord_guilds as dg
from tests.chat_drivers import discord_settings
from tests.cli_support import PLAYBOOKS, silent_listener
from tests.discord_fake import FakeDiscord


@pytest.fixture(autouse=True)
def restore_discord_urls() -> Iterator[None]:
    """`check` points discord.py at the fake; put Discord's own URLs back afterwards."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


async def test_missing_permissions_are_listed(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.add_member("alice")  # the guild's owner, not the bot
        result = await check(discord_settings(tmp_path, fake))
    assert not result.passed
    assert result.lines[0] == f"Discord: logged in as warroom ({fake.bot_user_id})"
    [lacking] = [line for line in result.lines if "lacks" in line]
    assert f"server {fake.guild_id}" in lacking
    assert lacking.endswith(
        "Manage Channels, Manage Roles (for permission overwrites), Manage Messages (pins)"
    )
    assert fake.requests_to("GET", "/guilds/{guild_id}")
    assert fake.requests_to("GET", "/guilds/{guild_id}/members/{user_id}")


async def test_a_bot_with_every_permission_is_ok(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.add_member("alice")
        fake.everyone_permissions = gw.ALL_PERMISSIONS
        result = await check(discord_settings(tmp_path, fake))
    assert result.passed, result.lines
    assert result.lines[-1] == f"Discord: server {fake.guild_id}: permissions ok"
    # the fake's application has the Message Content intent by default: no warning
    assert not any("Message Content" in line for line in result.lines)


async def test_a_bot_outside_the_server_is_told_to_invite_it(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.add_member("alice")
        fake.member_ids.remove(fake.bot_user_id)
        result = await check(discord_settings(tmp_path, fake))
    assert not result.passed
    assert any("the bot is not in this server" in line for line in result.lines)


async def test_a_refused_token_is_reported(tmp_path: Path) -> None:
    async with FakeDiscord(token="the-real-token") as fake:
        result = await check(discord_settings(tmp_path, fake))  # sends "test-token"
    assert not result.passed
    assert result.lines == [
        "Discord: Discord refused WARROOM_DISCORD_TOKEN; copy the bot token from the "
        "Developer Portal (Bot page, Reset Token)"
    ]
    [login] = fake.requests
    assert login.path == "/users/@me"  # nothing more was tried


@pytest.mark.parametrize(
    ("flags", "message_content"),
    [
        (dg.GATEWAY_MESSAGE_CONTENT, True),  # 1 << 18: verified bots
        (dg.GATEWAY_MESSAGE_CONTENT_LIMITED, True),  # 1 << 19: the portal's toggle, < 100 servers
        (dg.GATEWAY_MESSAGE_CONTENT | dg.GATEWAY_GUILD_MEMBERS_LIMITED, True),
        (dg.GATEWAY_GUILD_MEMBERS_LIMITED | dg.GATEWAY_PRESENCE, False),  # other intents only
        (0, False),
    ],
)
async def test_the_probe_reads_the_message_content_flags(
    tmp_path: Path, flags: int, message_content: bool
) -> None:
    async with FakeDiscord(app_flags=flags) as fake:
        fake.add_member("alice")
        fake.everyone_permissions = gw.ALL_PERMISSIONS
        settings = discord_settings(tmp_path, fake)
        point_at(settings)
        found = await probe(settings, permissions=False)
        result = await check(settings)
    assert found.message_content is message_content
    assert fake.requests_to("GET", "/oauth2/applications/@me")
    off = "Discord: the Message Content intent is off; chat is captured without its text"
    assert (off in result.lines) is not message_content
    assert result.passed  # the intent being off is a warning, not a failure


def shipped_playbooks() -> PlaybookSet:
    return load_playbooks(PLAYBOOKS, severities=SeverityScale.parse("SEV1,SEV2,SEV3,SEV4"))


async def test_announcement_channels_and_people_are_looked_up(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.everyone_permissions = gw.ALL_PERMISSIONS
        fake.add_member("Oncall-Leads")  # customer-facing-outage escalates to @oncall-leads
        fake.add_channel("incidents")
        result = await check(discord_settings(tmp_path, fake), shipped_playbooks())
        assert result.passed, result.lines
        assert result.lines[-1] == (
            f"Discord: server {fake.guild_id}: every announcement channel and person the "
            "playbooks name exists"
        )
        [search] = fake.requests_to("GET", "/guilds/{guild_id}/members/search")
        assert search.query == {"query": "oncall-leads", "limit": "10"}
        assert fake.violations == []


async def test_a_missing_channel_is_a_problem_and_a_missing_person_a_warning(
    tmp_path: Path,
) -> None:
    async with FakeDiscord() as fake:
        fake.everyone_permissions = gw.ALL_PERMISSIONS
        fake.add_channel("general")
        result = await check(discord_settings(tmp_path, fake), shipped_playbooks())
    where = f"Discord: server {fake.guild_id}"
    assert (
        "problem",
        f"{where}: the announcement channel #incidents (playbooks "
        "customer-facing-outage, default) does not exist or the bot cannot see it; "
        "create it and invite the bot",
    ) in result.findings
    assert (
        "warning",
        f"{where}: playbook customer-facing-outage: reminders.escalate_to "
        "`@oncall-leads` is not a user here; it will notify nobody",
    ) in result.findings
    assert not result.passed


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"discord_guild_ids": "123"}, "`123` is not a server id (those are 17 to 20 digits"),
        ({"discord_guild_ids": ""}, "WARROOM_DISCORD_GUILD_IDS is not set"),
        ({"discord_token": "Bot abc.def.ghi"}, "starts with `Bot `; give the token alone"),
        ({"discord_token": "abc def"}, "is empty or has spaces inside"),
    ],
)
async def test_settings_that_cannot_work_are_refused_before_any_request(
    tmp_path: Path, settings: dict[str, str], said: str
) -> None:
    async with FakeDiscord() as fake:
        result = await check(discord_settings(tmp_path, fake, **settings), shipped_playbooks())
    [(level, line)] = result.findings
    assert level == "problem" and said in line
    assert fake.requests == []


async def test_a_silent_discord_is_named_with_the_time_it_was_given(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        settings = discord_settings(tmp_path, fake)
    with silent_listener() as port:
        api = f"http://127.0.0.1:{port}/api/v10"
        silent = settings.model_copy(update={"discord_api_url": api, "connect_timeout": 1.0})
        result = await check(silent, shipped_playbooks())
    assert result.findings == [
        (
            "problem",
            f"Discord: no answer from Discord at {api} within 1 s; check "
            "WARROOM_DISCORD_API_URL and the network",
        )
    ]
