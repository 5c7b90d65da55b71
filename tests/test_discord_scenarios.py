"""Discord end to end: the real adapter (discord.py 2.7.1) against the loopback FakeDiscord.

Card buttons, the update form, message capture, reactions, mention safety, a gateway
RESUME mid-incident and a restart that keeps old buttons working. Driven through
`tests/chat_drivers.DiscordDriver`, which waits until the bridge has read and handled every
gateway event before each assertion.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from tests.chat_drivers import (
    DiscordDriver,
    discord_bridge,
    discord_driver,
    discord_idle,
    discord_settings,
    incident,
    roles,
    timeline,
)
from tests.discord_fake import FakeDiscord

CH = "inc-1-checkout-errors"


@pytest.fixture
async def dc(tmp_path: Path) -> AsyncIterator[DiscordDriver]:
    async with discord_driver(tmp_path) as d:
        yield d


async def declare(d: DiscordDriver, args: str = "SEV2 Checkout errors") -> None:
    await d.send(f"/incident declare {args}", user="alice", channel="general")


def card(fake: FakeDiscord, channel_id: str) -> dict[str, Any]:
    [pinned] = fake.pins(channel_id)
    return pinned


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Label -> custom_id of every button on a message."""
    return {b["label"]: b["custom_id"] for row in message["components"] for b in row["components"]}


async def press(d: DiscordDriver, label: str, *, user: str, channel: str = CH) -> dict[str, Any]:
    cid = d.cid(channel)
    msg = card(d.fake, cid)
    payload = await d.fake.button_press(
        buttons(msg)[label], user_id=d.ids[user], channel_id=cid, message_id=msg["id"]
    )
    await d.idle()
    return payload


def response(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    [found] = [r for r in fake.interaction_responses if r["token"] == payload["token"]]
    return found


async def kinds(d: DiscordDriver) -> Counter[str]:
    return Counter(e.kind for e in await timeline(d.app))


# --- card buttons ------------------------------------------------------------------------


async def test_take_commander_button_assigns_the_presser(dc: DiscordDriver) -> None:
    await declare(dc)
    payload = await press(dc, "Take commander", user="bob")
    assert response(dc.fake, payload)["type"] == 5  # deferred, privately
    assert (await roles(dc.app))["commander"] == "bob"
    assert dc.private_replies("bob") == ["Done."]
    dc.fake.assert_clean()


async def test_post_update_button_opens_the_form_and_its_submit_posts(dc: DiscordDriver) -> None:
    await declare(dc)
    payload = await press(dc, "Post update", user="carol")
    opened = response(dc.fake, payload)
    assert opened["type"] == 9  # MODAL
    modal_id = opened["data"]["custom_id"]
    assert modal_id == "update:1"
    [text_input] = [c for row in opened["data"]["components"] for c in row["components"]]
    await dc.fake.modal_submit(
        modal_id,
        {text_input["custom_id"]: "Traffic drained from eu-west"},
        user_id=dc.ids["carol"],
        channel_id=dc.cid(CH),
    )
    await dc.idle()
    assert (await incident(dc.app)).latest_update == "Traffic drained from eu-west"
    assert any("Traffic drained from eu-west" in m for m in dc.channel_messages(CH))
    assert any("Traffic drained from eu-west" in m for m in dc.channel_messages("incidents"))
    [entry] = [e for e in await timeline(dc.app) if e.kind == "update"]
    assert entry.actor_name == "carol"
    dc.fake.assert_clean()


# --- message capture ---------------------------------------------------------------------


async def test_messages_are_captured_and_the_bots_own_are_not(dc: DiscordDriver) -> None:
    await declare(dc)
    cid = dc.cid(CH)
    await dc.send("the queue is backing up", user="alice", channel=CH)
    await dc.redeliver()  # the same MESSAGE_CREATE again (a replay): recorded once
    [mine] = [m for m in dc.fake.messages(cid) if m["content"] == "the queue is backing up"]
    await dc.fake.message_update(cid, mine["id"], "the queue is backing up in eu-west")
    await dc.idle()
    await dc.fake.message_delete(cid, mine["id"])
    await dc.idle()
    counts = await kinds(dc)
    assert (counts["chat"], counts["chat_edited"], counts["chat_deleted"]) == (1, 1, 1)
    entries = await timeline(dc.app)
    [chat] = [e for e in entries if e.kind == "chat"]
    assert (chat.text, chat.actor_name, chat.message_id) == (
        "the queue is backing up",
        "alice",
        mine["id"],
    )
    [edited] = [e for e in entries if e.kind == "chat_edited"]
    assert edited.text == "the queue is backing up in eu-west"
    # the bot's card, topic and updates reached the gateway as MESSAGE_CREATE/UPDATE echoes
    bot_id = dc.fake.bot_user_id
    assert any(m["author"]["id"] == bot_id for m in dc.fake.messages(cid))
    assert not any(e.actor_id == bot_id for e in entries if e.kind.startswith("chat"))
    dc.fake.assert_clean()


# --- reactions ---------------------------------------------------------------------------


async def test_siren_by_a_member_escalates_and_names_them(dc: DiscordDriver) -> None:
    await declare(dc)
    cid = dc.cid(CH)
    await dc.send("error rate is climbing", user="alice", channel=CH)
    [msg] = [m for m in dc.fake.messages(cid) if m["content"] == "error rate is climbing"]
    await dc.fake.reaction_add(cid, msg["id"], dc.ids["bob"], "🚨")
    await dc.idle()
    assert (await incident(dc.app)).severity == "SEV1"
    [entry] = [e for e in await timeline(dc.app) if e.kind == "severity"]
    assert entry.actor_name == "bob"
    notices = [m for m in dc.channel_messages(CH) if "SEV1" in m]
    assert notices and any("bob" in m or dc.ids["bob"] in m for m in notices)
    dc.fake.assert_clean()


async def test_pushpin_stores_the_jump_url(dc: DiscordDriver) -> None:
    await declare(dc)
    cid = dc.cid(CH)
    await dc.send("root cause: expired cert", user="alice", channel=CH)
    [msg] = [m for m in dc.fake.messages(cid) if m["content"] == "root cause: expired cert"]
    await dc.fake.reaction_add(cid, msg["id"], dc.ids["bob"], "📌")
    await dc.idle()
    [pinned] = [e for e in await timeline(dc.app) if e.kind == "pinned"]
    assert pinned.text == "root cause: expired cert"
    assert pinned.message_id == msg["id"]
    assert pinned.data["permalink"] == (
        f"https://discord.com/channels/{dc.fake.guild_id}/{cid}/{msg['id']}"
    )
    dc.fake.assert_clean()


async def test_a_reaction_by_a_non_member_is_refused(dc: DiscordDriver) -> None:
    await declare(dc, "SEV2 Checkout errors --private")
    cid = dc.cid(CH)
    await dc.send("suspect the payments deploy", user="alice", channel=CH)
    [msg] = [m for m in dc.fake.messages(cid) if m["content"] == "suspect the payments deploy"]
    before = await kinds(dc)
    # (not erin: the fake's guild owner, who sees every channel)
    await dc.fake.reaction_add(cid, msg["id"], dc.ids["dave"], "🚨")
    await dc.idle()
    await dc.fake.reaction_add(cid, msg["id"], dc.ids["dave"], "📌")
    await dc.idle()
    assert (await incident(dc.app)).severity == "SEV2"
    assert await kinds(dc) == before
    refusals = [r for r in dc.private_replies("dave") if "Only members" in r]
    assert len(refusals) == 2  # told by DM (the bridge's fix: reaction refusals were lost)
    dc.fake.assert_clean()


# --- mentions ----------------------------------------------------------------------------


async def test_typed_mentions_never_ping(dc: DiscordDriver) -> None:
    bob = dc.ids["bob"]
    await declare(dc, f"SEV2 @everyone @here checkout <@{bob}> down")
    ch = (await incident(dc.app)).channel_name or ""
    await dc.send("/incident commander @carol", user="alice", channel=ch)
    await dc.send(f"/incident update @everyone <@{bob}> still down", user="alice", channel=ch)
    senders = [
        *dc.fake.requests_to("POST", "/channels/{channel_id}/messages"),
        *dc.fake.requests_to("PATCH", "/channels/{channel_id}/messages/{message_id}"),
        *dc.fake.requests_to("POST", "/webhooks/{application_id}/{interaction_token}"),
    ]
    bodies = [r.body for r in senders]
    assert all(isinstance(b, dict) and "allowed_mentions" in b for b in bodies), bodies
    assert len(bodies) >= 5
    intended = {dc.ids["carol"], dc.ids["alice"]}
    for body in bodies:
        allowed = body["allowed_mentions"]
        assert allowed["parse"] == [], body
        users = {str(u) for u in allowed.get("users", [])}
        assert users <= intended, body
        assert bob not in users
    shown = "\n".join(dc.channel_messages(ch) + dc.channel_messages("incidents"))
    assert "@everyone" not in shown and "@here" not in shown
    assert f"<@{bob}>" not in shown
    assert "@\u200beveryone" in shown
    dc.fake.assert_clean()


# --- the gateway -------------------------------------------------------------------------


async def test_a_resume_mid_incident_keeps_commands_working(dc: DiscordDriver) -> None:
    await declare(dc)
    identifies = dc.fake.identifies
    await dc.fake.drop_connection()
    await discord_idle(dc.fake, dc.bridge)
    assert dc.fake.resumes == 1 and dc.fake.identifies == identifies
    await dc.send("/incident sev SEV1", user="alice", channel=CH)
    assert (await incident(dc.app)).severity == "SEV1"
    await dc.send("after the blip", user="bob", channel=CH)
    assert (await kinds(dc))["chat"] == 1
    dc.fake.assert_clean()


async def test_buttons_posted_before_a_restart_still_work(tmp_path: Path) -> None:
    clock = ManualClock()
    async with FakeDiscord() as fake:
        alice, bob = fake.add_member("alice"), fake.add_member("bob")
        general = fake.add_channel("general")
        fake.add_channel("incidents")
        settings = discord_settings(tmp_path, fake)
        async with discord_bridge(settings, fake, clock) as first:
            await fake.slash_command(
                "declare",
                {"title": "Disk full", "severity": "SEV2"},
                user_id=alice,
                channel_id=general,
            )
            await discord_idle(fake, first)
        [channel] = [c for c in fake.channels.values() if c["name"] == "inc-1-disk-full"]
        old_card = card(fake, channel["id"])

        async with discord_bridge(settings, fake, clock) as second:
            assert fake.identifies == 2
            payload = await fake.button_press(
                buttons(old_card)["Take commander"],
                user_id=bob,
                channel_id=channel["id"],
                message_id=old_card["id"],
            )
            await discord_idle(fake, second)
            assert response(fake, payload)["type"] == 5
            assert (await roles(second.app))["commander"] == "bob"
