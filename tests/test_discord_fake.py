"""The loopback Discord against the real discord.py 2.7.1 client."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
import yarl

from tests import discord_guilds as dg
from tests.discord_fake import FakeDiscord
from tests.waiting import WITHIN


@dataclass
class Bot:
    fake: FakeDiscord
    client: discord.Client
    general: str = ""
    alice: str = ""
    events: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)

    async def next(self, name: str, within: float = WITHIN) -> Any:
        async with asyncio.timeout(within):
            while True:
                kind, value = await self.events.get()
                if kind == name:
                    return value


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    old_base, old_gateway = (
        discord.http.Route.BASE,
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    async with FakeDiscord() as fake:
        fake.app_flags |= dg.GATEWAY_GUILD_MEMBERS_LIMITED  # the client asks for members
        discord.http.Route.BASE = fake.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        intents = discord.Intents.default()
        intents.message_content = True
        intents.members = True
        client = discord.Client(intents=intents, guild_ready_timeout=0.05)
        b = Bot(fake, client)
        for name in ("ready", "message", "interaction", "resumed", "raw_reaction_add"):
            client.event(_recorder(b, name))
        fake.add_category("incidents")
        b.general, b.alice = fake.add_channel("general"), fake.add_member("alice")
        task = asyncio.create_task(client.start(fake.token))
        try:
            await b.next("ready")
            yield b
        finally:
            await client.close()
            await asyncio.wait_for(task, WITHIN)
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


def _recorder(b: Bot, name: str) -> Callable[..., Any]:
    async def handler(*args: Any) -> None:
        await b.events.put((name, args[0] if args else None))

    handler.__name__ = f"on_{name}"
    return handler


async def test_login_ready_and_guild_create(bot: Bot):
    fake, client = bot.fake, bot.client
    assert fake.requests[0].path == "/users/@me"
    assert fake.identifies == 1 and fake.intents == client.intents.value
    assert fake.gateway_queries[0]["compress"] == "zlib-stream"  # discord.py asks for zlib
    guild = client.get_guild(int(fake.guild_id))
    assert guild is not None and guild.name == "warroom-test"
    assert {c.name for c in guild.channels} == {"incidents", "general"}
    assert guild.get_member(int(bot.alice)) is not None
    assert client.user is not None and str(client.user.id) == fake.bot_user_id


async def test_message_create_reaches_the_client_with_content(bot: Bot):
    fake = bot.fake
    await fake.message_create(bot.general, bot.alice, "db is down")
    message = await bot.next("message")
    assert message.content == "db is down" and str(message.author.id) == bot.alice
    assert message.guild is not None


async def test_send_edit_pin_attach_topic_and_permissions(bot: Bot):
    fake, client = bot.fake, bot.client
    guild = client.get_guild(int(fake.guild_id))
    assert guild is not None
    category = discord.utils.get(guild.categories, name="incidents")
    created = await guild.create_text_channel("inc-1-db", category=category, topic="SEV2")
    assert fake.channels[str(created.id)]["parent_id"] == str(category.id if category else "")
    sent = await created.send("Declared", allowed_mentions=discord.AllowedMentions.none())
    await sent.edit(content="Declared (SEV1)")
    await sent.pin()
    await created.send("log", file=discord.File(io.BytesIO(b"hello"), filename="log.txt"))
    await created.edit(topic="SEV1 | investigating")
    alice = guild.get_member(int(bot.alice))
    assert alice is not None
    await created.set_permissions(alice, view_channel=True, send_messages=True)
    cid = str(created.id)
    assert [m["content"] for m in fake.messages(cid)] == ["Declared (SEV1)", "log"]
    assert [m["id"] for m in fake.pins(cid)] == [str(sent.id)]
    assert fake.files(cid) == [("log.txt", b"hello")]
    assert fake.channels[cid]["topic"] == "SEV1 | investigating"
    overwrite = fake.channels[cid]["permission_overwrites"][-1]
    assert overwrite["id"] == bot.alice and int(overwrite["allow"]) & 1024
    assert fake.violations == []


async def test_slash_command_answered_ephemerally_then_followup(bot: Bot):
    fake = bot.fake
    payload = await fake.slash_command(
        "declare",
        {"title": "db down", "severity": 2},
        user_id=bot.alice,
        channel_id=bot.general,
    )
    interaction = await bot.next("interaction")
    assert interaction.data["options"][0]["name"] == "declare"
    await interaction.response.defer(ephemeral=True)
    await interaction.followup.send("Declared #1", ephemeral=True)
    (first,) = fake.interaction_responses
    assert (first["type"], first["data"]["flags"]) == (5, 64)
    assert first["interaction_id"] == payload["id"]
    assert fake.followups[0]["message"]["content"] == "Declared #1"
    assert fake.followups[0]["message"]["flags"] & 64
    assert fake.messages(bot.general) == []


async def test_button_and_modal_interactions(bot: Bot):
    fake, client = bot.fake, bot.client
    channel = client.get_channel(int(bot.general))
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("Incident #1")
    await fake.button_press(
        "ack:1", user_id=bot.alice, channel_id=bot.general, message_id=str(sent.id)
    )
    pressed = await bot.next("interaction")
    assert pressed.data["custom_id"] == "ack:1" and pressed.message.id == sent.id
    await pressed.response.send_message("Acknowledged", ephemeral=True)
    await fake.modal_submit(
        "update:1", {"text": "rolled back"}, user_id=bot.alice, channel_id=bot.general
    )
    submitted = await bot.next("interaction")
    assert submitted.data["components"][0]["components"][0]["value"] == "rolled back"
    await submitted.response.send_message("Posted")
    kinds = [(r["type"], r["data"].get("flags")) for r in fake.interaction_responses]
    assert kinds == [(4, 64), (4, None)]
    assert [m["content"] for m in fake.messages(bot.general)] == ["Incident #1", "Posted"]


async def test_reaction_event_and_command_sync(bot: Bot):
    fake, client = bot.fake, bot.client
    mid = await fake.message_create(bot.general, bot.alice, "x")
    await fake.reaction_add(bot.general, mid, bot.alice, "👀")
    reaction = await bot.next("raw_reaction_add")
    assert str(reaction.emoji) == "👀" and str(reaction.message_id) == mid
    tree = discord.app_commands.CommandTree(client)
    group = discord.app_commands.Group(name="incident", description="Incidents")

    @group.command(name="declare", description="Declare")
    async def declare(interaction: discord.Interaction, title: str) -> None: ...

    tree.add_command(group)
    guild = discord.Object(int(fake.guild_id))
    tree.copy_global_to(guild=guild)
    await tree.sync(guild=guild)
    assert [c["name"] for c in fake.commands] == ["incident"]


async def test_drop_connection_resumes_and_replays(bot: Bot):
    fake, client = bot.fake, bot.client
    await fake.drop_connection()
    await bot.next("resumed")
    assert fake.resumes == 1 and fake.identifies == 1
    assert str(fake.gateway_queries[-1]).count("zlib-stream") == 1
    await fake.message_create(bot.general, bot.alice, "after resume")
    message = await bot.next("message")
    assert message.content == "after resume"
    assert client.get_guild(int(fake.guild_id)) is not None


async def test_without_message_content_intent_content_is_empty():
    async with FakeDiscord() as fake:
        general, alice = fake.add_channel("general"), fake.add_member("alice")
        fake.intents = int(discord.Intents.default().value)  # no message_content
        # no client connected: the event waits in the RESUME backlog
        await fake.message_create(general, alice, "secret")
        sent = [e["d"] for e in fake._backlog]
        assert sent[0]["content"] == "" and sent[0]["author"]["id"] == alice


async def test_unknown_endpoint_is_a_violation():
    async with FakeDiscord() as fake, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bot {fake.token}"}
        async with http.get(f"{fake.api_base}/guilds/1/bans", headers=auth) as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
        assert any("unknown endpoint" in v for v in fake.violations)
        fake.violations.clear()


async def test_rest_refuses_a_wrong_token():
    async with FakeDiscord(token="right") as fake, aiohttp.ClientSession() as http:
        for header in ("Bot wrong", "Bot right"):
            async with http.get(
                f"{fake.api_base}/users/@me", headers={"Authorization": header}
            ) as resp:
                statuses = (resp.status, await resp.json())
            if header == "Bot wrong":
                assert statuses == (401, {"message": "401: Unauthorized", "code": 0})
            else:
                assert statuses[0] == 200 and statuses[1]["id"] == fake.bot_user_id


async def _identify(fake: FakeDiscord, token: str, intents: int) -> tuple[int | None, str]:
    """IDENTIFY over a plain websocket: (close code, or None) and the first event's name."""
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.gateway_url) as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        identify = {"token": token, "intents": intents, "properties": {}}
        await ws.send_json({"op": 2, "d": identify})
        msg = await ws.receive(timeout=WITHIN)
        if msg.type == aiohttp.WSMsgType.TEXT:
            return None, str(json.loads(msg.data)["t"])
        return ws.close_code, ""


async def test_identify_checks_the_token_and_privileged_intents():
    content = int(discord.Intents(guilds=True, message_content=True).value)
    plain = int(discord.Intents(guilds=True).value)
    async with FakeDiscord(app_flags=0) as fake:
        assert await _identify(fake, "wrong", plain) == (4004, "")
        assert await _identify(fake, fake.token, content) == (4014, "")
        assert await _identify(fake, fake.token, plain) == (None, "READY")
        fake.app_flags = dg.GATEWAY_MESSAGE_CONTENT  # (1 << 18), or the LIMITED one (1 << 19)
        assert await _identify(fake, fake.token, content) == (None, "READY")
        assert [p["token"] for p in fake.identify_payloads] == ["wrong", *[fake.token] * 3]
        flags = discord.ApplicationFlags._from_value(dg.GATEWAY_MESSAGE_CONTENT_LIMITED)
        assert flags.gateway_message_content_limited  # the bits are discord.py's


async def test_member_search_matches_a_name_prefix(bot: Bot):
    fake, client = bot.fake, bot.client
    fake.add_member("bob")
    fake.add_member("alicia")
    guild = client.get_guild(int(fake.guild_id))
    assert guild is not None
    found = await guild.query_members("AL", limit=10)
    assert sorted(m.name for m in found) == ["alice", "alicia"]
    assert [m.name for m in await guild.query_members("bo")] == ["bob"]
    assert await guild.query_members("zed") == []
    assert [r.get("query") for r in fake.member_requests] == ["AL", "bo", "zed"]
