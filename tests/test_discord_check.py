"""`warroom check` for Discord against the loopback FakeDiscord: the token logs in (or is
refused), the application's flags say whether Message Content is on, and the guild
permissions the bot lacks are listed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
import yarl

from adapters.discord.check import check
from adapters.discord.server import point_at, probe
from tests import discord_gateway as gw
from tests import discord_guilds as dg
from tests.chat_drivers import discord_settings
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
    assert not result.ok
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
    assert result.ok, result.lines
    assert result.lines[-1] == f"Discord: server {fake.guild_id}: permissions ok"
    # the fake's application has the Message Content intent by default: no warning
    assert not any("Message Content" in line for line in result.lines)


async def test_a_bot_outside_the_server_is_told_to_invite_it(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.add_member("alice")
        fake.member_ids.remove(fake.bot_user_id)
        result = await check(discord_settings(tmp_path, fake))
    assert not result.ok
    assert any("the bot is not in this server" in line for line in result.lines)


async def test_a_refused_token_is_reported(tmp_path: Path) -> None:
    async with FakeDiscord(token="the-real-token") as fake:
        result = await check(discord_settings(tmp_path, fake))  # sends "test-token"
    assert not result.ok
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
    assert result.ok  # the intent being off is a warning, not a failure
