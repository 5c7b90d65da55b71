"""What the Discord adapter does to channels and messages, checked at the REST requests
the loopback FakeDiscord receives from the running client (discord.py): private
overwrites, invitations, the archive, the announcement edited in place, the postmortem
upload, member search by name, and a gateway replay after RESUME."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest

from tests.chat_drivers import DiscordDriver, discord_driver, discord_idle, incident, timeline
from tests.discord_fake import Request

CH = "inc-1-checkout-errors"
P = discord.Permissions
EVERYONE, MEMBER = 0, 1  # overwrite types
MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
OVERWRITE = "/channels/{channel_id}/permissions/{overwrite_id}"


@pytest.fixture
async def dc(tmp_path: Path) -> AsyncIterator[DiscordDriver]:
    async with discord_driver(tmp_path) as d:
        yield d


async def declare(d: DiscordDriver, args: str = "SEV2 Checkout errors") -> None:
    await d.send(f"/incident declare {args}", user="alice", channel="general")


def overwrites(d: DiscordDriver, name: str) -> dict[str, tuple[int, P, P]]:
    """Target id -> (type, allow, deny) of a channel's permission overwrites."""
    return {
        o["id"]: (o["type"], P(int(o["allow"])), P(int(o["deny"])))
        for o in d.text_channel(name)["permission_overwrites"]
    }


def to_channel(requests: list[Request], channel_id: str) -> list[Request]:
    return [r for r in requests if r.path.split("/")[2] == channel_id]


async def test_a_private_incident_hides_its_channel_from_everyone(dc: DiscordDriver) -> None:
    await declare(dc, "SEV2 Checkout errors --private")
    found = overwrites(dc, CH)
    kind, allow, deny = found[dc.fake.guild_id]  # @everyone's id is the guild's
    assert kind == EVERYONE and deny.view_channel and not allow.value
    kind, allow, deny = found[dc.fake.bot_user_id]
    assert kind == MEMBER and not deny.value
    assert allow >= P(
        view_channel=True,
        send_messages=True,
        manage_channels=True,
        manage_messages=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
        add_reactions=True,
    )
    # set when the channel was created, not patched on afterwards
    [created] = [
        r
        for r in dc.fake.requests_to("POST", "/guilds/{guild_id}/channels")
        if r.body["name"] == CH
    ]
    assert {str(o["id"]) for o in created.body["permission_overwrites"]} >= {
        dc.fake.guild_id,
        dc.fake.bot_user_id,
    }
    assert dc.fake.messages(dc.cid("incidents")) == []  # private: not announced
    # the declarer can see it: invited with their own overwrite
    assert dc.members(CH) == {"alice"}
    dc.fake.assert_clean()


async def test_a_public_incident_has_no_everyone_overwrite(dc: DiscordDriver) -> None:
    await declare(dc)
    assert dc.fake.guild_id not in overwrites(dc, CH)
    dc.fake.assert_clean()


async def test_a_new_commander_found_by_name_is_invited(dc: DiscordDriver) -> None:
    await declare(dc)
    before = len(dc.fake.requests_to("PUT", OVERWRITE))
    await dc.send("/incident commander @bob", user="alice", channel=CH)
    # bob is not cached (no members intent): found with the gateway's member search
    [search] = [r for r in dc.fake.member_requests if r.get("query") == "bob"]
    assert str(search["guild_id"]) == dc.fake.guild_id
    [put] = dc.fake.requests_to("PUT", OVERWRITE)[before:]
    cid, bob = dc.cid(CH), dc.ids["bob"]
    assert put.path == f"/channels/{cid}/permissions/{bob}"
    assert put.body["type"] == MEMBER
    assert P(int(put.body["allow"])) == P(
        view_channel=True, send_messages=True, read_message_history=True, add_reactions=True
    )
    assert "bob" in dc.members(CH)
    # a name nobody has is refused privately, and nothing is invited
    await dc.send("/incident commander @zed", user="alice", channel=CH)
    assert "zed" in dc.private_replies("alice")[-1]
    assert len(dc.fake.requests_to("PUT", OVERWRITE)) == before + 1
    dc.fake.assert_clean()


async def test_closing_moves_the_channel_to_the_read_only_archive(dc: DiscordDriver) -> None:
    await declare(dc)
    await dc.send("/incident resolve Rolled back", user="alice", channel=CH)
    [category] = [c for c in dc.fake.channels.values() if c["type"] == 4]
    assert category["name"] == "incidents"
    assert dc.text_channel(CH)["parent_id"] == category["id"]  # resolving does not archive
    await dc.send("/incident status closed", user="alice", channel=CH)
    assert (await incident(dc.app)).status == "closed"
    archive = dc.fake.channel_named("incidents-archive")
    assert archive["type"] == 4  # a category, created for the archive
    channel = dc.text_channel(CH)
    assert channel["parent_id"] == archive["id"]
    kind, _, deny = overwrites(dc, CH)[dc.fake.guild_id]
    assert kind == EVERYONE and deny.send_messages and deny.add_reactions
    assert not deny.view_channel  # still readable
    dc.fake.assert_clean()


async def test_the_announcement_is_edited_in_place(dc: DiscordDriver) -> None:
    await declare(dc)
    announce = dc.cid("incidents")
    [announcement] = dc.fake.messages(announce)
    posts = len(to_channel(dc.fake.requests_to("POST", MESSAGES), announce))
    assert posts == 1
    await dc.send("/incident sev SEV1", user="alice", channel=CH)
    assert len(to_channel(dc.fake.requests_to("POST", MESSAGES), announce)) == posts
    edits = to_channel(dc.fake.requests_to("PATCH", MESSAGE), announce)
    assert edits and {e.path for e in edits} == {
        f"/channels/{announce}/messages/{announcement['id']}"
    }
    [same] = dc.fake.messages(announce)
    assert same["id"] == announcement["id"] and same["edited_timestamp"]
    assert "SEV1" in str(same["embeds"])
    dc.fake.assert_clean()


async def test_resolving_uploads_the_postmortem_as_a_file(dc: DiscordDriver) -> None:
    await declare(dc)
    await dc.send("/incident resolve Rolled back the deploy", user="alice", channel=CH)
    cid = dc.cid(CH)
    [upload] = [r for r in to_channel(dc.fake.requests_to("POST", MESSAGES), cid) if r.files]
    [(filename, content)] = upload.files
    assert filename == "INC-1-postmortem.md"
    assert b"Checkout errors" in content and b"Rolled back the deploy" in content
    mentions = upload.body["allowed_mentions"]
    assert mentions["parse"] == [] and not mentions.get("users") and not mentions.get("roles")
    [message] = [m for m in dc.fake.messages(cid) if m["attachments"]]
    assert message["attachments"][0]["filename"] == filename
    dc.fake.assert_clean()


async def test_chat_sent_while_disconnected_is_replayed_on_resume_and_recorded_once(
    dc: DiscordDriver,
) -> None:
    await declare(dc)
    cid = dc.cid(CH)
    await dc.fake.drop_connection(wait=False)
    await dc.fake.message_create(cid, dc.ids["bob"], "the cron job ran twice")
    await dc.fake.wait_resumed()
    await discord_idle(dc.fake, dc.bridge)
    [backlogged] = [m for m in dc.fake.messages(cid) if m["author"]["id"] == dc.ids["bob"]]
    # Discord may send an event twice (a replay racing a live delivery): once on the timeline
    await dc.fake.dispatch("MESSAGE_CREATE", dc.fake._visible(backlogged))
    await discord_idle(dc.fake, dc.bridge)
    chat = [e for e in await timeline(dc.app) if e.kind == "chat"]
    assert [(e.text, e.actor_name) for e in chat] == [("the cron job ran twice", "bob")]
    assert Counter(e.kind for e in await timeline(dc.app))["chat"] == 1
    assert dc.fake.resumes == 1
    dc.fake.assert_clean()


async def test_the_declare_form_submitted_with_private_makes_a_private_channel(
    dc: DiscordDriver,
) -> None:
    alice, general = dc.ids["alice"], dc.cid("general")
    opened = await dc.fake.slash_command("declare", {}, user_id=alice, channel_id=general)
    await dc.idle()
    [form] = [r for r in dc.fake.interaction_responses if r["interaction_id"] == opened["id"]]
    inputs = [c["custom_id"] for row in form["data"]["components"] for c in row["components"]]
    assert inputs[0] == "title" and inputs[-1] == "flags" and len(inputs) <= 5
    values = {"title": "Checkout errors", "severity": "SEV2", "flags": "private"}
    await dc.fake.modal_submit(form["data"]["custom_id"], values, user_id=alice, channel_id=general)
    await dc.idle()
    row = await incident(dc.app)
    assert (row.title, row.severity, row.private) == ("Checkout errors", "SEV2", True)
    assert overwrites(dc, CH)[dc.fake.guild_id][2].view_channel  # @everyone denied
    dc.fake.assert_clean()
