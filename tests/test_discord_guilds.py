"""Two configured guilds: an incident lives in the guild it was declared from (its channel,
category and announcement), people are looked up there, and permalinks name it. Through
the real adapter (discord.py) against the loopback FakeDiscord holding two guilds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.discord.app import DiscordBridge
from bot.clock import ManualClock
from tests import discord_gateway as gw
from tests.chat_drivers import (
    discord_bridge,
    discord_idle,
    discord_settings,
    incident,
    roles,
    timeline,
)
from tests.discord_fake import FakeDiscord

CH = "inc-1-checkout-errors"


@dataclass
class Place:
    """One guild's channels."""

    guild: str
    general: str
    announce: str
    category: str


@dataclass
class TwoGuilds:
    fake: FakeDiscord
    first: Place
    second: Place
    alice: str  # in both guilds
    bob: str  # only in the second
    bridge: DiscordBridge


def place(fake: FakeDiscord, guild: str) -> Place:
    return Place(
        guild,
        fake.add_channel("general", guild_id=guild),
        fake.add_channel("incidents", guild_id=guild),
        fake.add_category("incidents", guild_id=guild),
    )


@pytest.fixture
async def g(tmp_path: Path) -> AsyncIterator[TwoGuilds]:
    async with FakeDiscord() as fake:
        second = fake.add_guild("second")
        alice = fake.add_member("alice")
        fake.join_guild(alice, second)
        bob = fake.add_member("bob", guild_id=second)
        first_place, second_place = place(fake, fake.guild_id), place(fake, second)
        settings = discord_settings(tmp_path, fake, discord_guild_ids=f"{fake.guild_id},{second}")
        async with discord_bridge(settings, fake, ManualClock()) as bridge:
            yield TwoGuilds(fake, first_place, second_place, alice, bob, bridge)


async def test_a_declare_in_the_second_guild_stays_there(g: TwoGuilds) -> None:
    fake, bridge = g.fake, g.bridge
    # /incident is registered in both guilds
    synced = fake.requests_to("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    assert {r.path.split("/")[4] for r in synced} == {g.first.guild, g.second.guild}

    await fake.slash_command(
        "declare",
        {"title": "Checkout errors", "severity": "SEV2", "commander": gw.UserId(g.bob)},
        user_id=g.alice,
        channel_id=g.second.general,
    )
    await discord_idle(fake, bridge)
    channel = fake.channel_named(CH)
    assert channel["guild_id"] == g.second.guild
    assert channel["parent_id"] == g.second.category
    [created] = fake.requests_to("POST", "/guilds/{guild_id}/channels")
    assert created.path == f"/guilds/{g.second.guild}/channels"
    # the announcement went to the second guild's #incidents, not the first's
    [announcement] = fake.messages(g.second.announce)
    assert "INC-1" in announcement["embeds"][0]["title"]
    assert fake.messages(g.first.announce) == []
    app = bridge.app
    assert (await incident(app)).channel_id == channel["id"]
    assert (await roles(app))["commander"] == "bob"

    # a 📌 in that channel links into the second guild
    mid = await fake.message_create(channel["id"], g.alice, "root cause: expired cert")
    await fake.reaction_add(channel["id"], mid, g.alice, "📌")
    await discord_idle(fake, bridge)
    [pinned] = [e for e in await timeline(app) if e.kind == "pinned"]
    assert pinned.data["permalink"] == (
        f"https://discord.com/channels/{g.second.guild}/{channel['id']}/{mid}"
    )
    fake.assert_clean()


async def test_people_are_looked_up_in_the_guild_of_the_command(
    g: TwoGuilds,
) -> None:
    fake, bridge = g.fake, g.bridge
    await fake.slash_command(
        "run",
        {"text": "declare SEV2 Checkout errors --commander @bob"},
        user_id=g.alice,
        channel_id=g.second.general,
    )
    await discord_idle(fake, bridge)
    assert (await roles(bridge.app))["commander"] == "bob"
    # bob is no cached member (no members intent): found by the gateway's member search
    searches = [r for r in fake.member_requests if r.get("query") == "bob"]
    assert searches and {str(r["guild_id"]) for r in searches} == {g.second.guild}
    # the same declare in the first guild (where bob is not) is refused
    await fake.slash_command(
        "run",
        {"text": "declare SEV2 Login errors --commander @bob"},
        user_id=g.alice,
        channel_id=g.first.general,
    )
    await discord_idle(fake, bridge)
    last = fake.followups[-1]["message"]
    assert "bob" in str(last) and "INC-2" not in str(last)
    assert not [c for c in fake.channels.values() if c.get("name") == "inc-2-login-errors"]


async def test_a_declare_in_the_first_guild_stays_there(g: TwoGuilds) -> None:
    fake, bridge = g.fake, g.bridge
    await fake.slash_command(
        "declare",
        {"title": "Checkout errors", "severity": "SEV2"},
        user_id=g.alice,
        channel_id=g.first.general,
    )
    await discord_idle(fake, bridge)
    channel = fake.channel_named(CH)
    assert (channel["guild_id"], channel["parent_id"]) == (g.first.guild, g.first.category)
    assert len(fake.messages(g.first.announce)) == 1
    assert fake.messages(g.second.announce) == []
