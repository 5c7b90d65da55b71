"""Chat capture in incident channels: messages, edits, deletions, reactions, buttons, forms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.console.workspace import Channel, Message
from bot.events import CommandInvoked, MemberJoined, MessagePosted, ModalSubmitted
from bot.port import ChannelRef, MessageRef, Outcome, UserRef
from storage import repository as repo
from storage.tables import Incident, Participant, TimelineEntry
from tests.conftest import Console

CHANNEL = "inc-1-database-slow"


async def declared(c: Console, args: str = "SEV3 Database slow") -> Channel:
    """Declare as alice from #general, then stand in the incident channel as alice."""
    c.session.as_user("alice")
    c.session.go("general")
    await c.session.send(f"/incident declare {args}")
    return c.session.go(CHANNEL)


async def say(c: Console, text: str, *, user: str = "alice") -> Message:
    c.session.as_user(user)
    await c.session.send(text)
    return c.session.channel.messages[-1]


async def incident(c: Console, number: int = 1) -> Incident:
    async with c.app.db.reader() as tx:
        row = await repo.incident_by_number(tx, number=number)
    assert row is not None
    return row


async def entries(c: Console, *kinds: str, number: int = 1) -> list[TimelineEntry]:
    inc_id = (await incident(c, number)).id or 0
    async with c.app.db.reader() as tx:
        rows = await repo.timeline(tx, incident_id=inc_id)
    return [e for e in rows if not kinds or e.kind in kinds]


async def participants(c: Console) -> list[Participant]:
    inc_id = (await incident(c)).id or 0
    async with c.app.db.reader() as tx:
        return list(await repo.participants(tx, incident_id=inc_id))


async def card(c: Console) -> Message:
    msg = c.session.ws.message((await incident(c)).card_message_id or "")
    assert msg is not None
    return msg


def refs(c: Console) -> tuple[UserRef, ChannelRef]:
    user, channel = c.session.user, c.session.channel
    return UserRef(user.id, user.name), ChannelRef(channel.id, channel.name)


async def submit(c: Console, modal_id: str, key: str, **values: str) -> Outcome:
    user, channel = refs(c)
    event = ModalSubmitted(
        key=key, user=user, channel=channel, at=c.clock.now(), modal_id=modal_id, values=values
    )
    return await c.session.deliver(event)


# --- messages ---------------------------------------------------------------------------


async def test_messages_in_the_incident_channel_become_chat_entries(console):
    await declared(console)
    console.clock.advance(timedelta(minutes=3))
    msg = await say(console, "Seeing 502s from the gateway", user="bob")
    [chat] = await entries(console, "chat")
    assert (chat.text, chat.message_id) == ("Seeing 502s from the gateway", msg.id)
    assert (chat.actor_id, chat.actor_name) == ("UBOB", "bob")
    assert chat.at == console.clock.now()
    assert "bob" in {p.user_name for p in await participants(console)}


async def test_edits_and_deletions_are_recorded(console):
    await declared(console)
    first = await say(console, "Errors started at 09:00")
    second = await say(console, "Probably DNS")
    console.clock.advance(timedelta(minutes=1))
    await console.session.edit(first.id, "Errors started at 08:55")
    await console.session.delete(second.id)

    [edited] = await entries(console, "chat_edited")
    assert (edited.text, edited.message_id) == ("Errors started at 08:55", first.id)
    assert edited.at == console.clock.now()
    [deleted] = await entries(console, "chat_deleted")
    assert deleted.message_id == second.id and deleted.actor_id == "UALICE"
    chats = {e.message_id: e for e in await entries(console, "chat")}
    assert chats[second.id].data.get("deleted") is True
    assert not chats[first.id].data.get("deleted")
    assert chats[first.id].text == "Errors started at 09:00"


async def test_messages_outside_incident_channels_are_ignored(console):
    await declared(console)
    for where in ("general", "incidents"):
        console.session.go(where)
        await say(console, f"chatter in #{where}")
        out = await console.session.react("📌", console.session.channel.messages[-1].id)
        assert out == Outcome()
    assert await entries(console, "chat", "pinned") == []


# --- reactions --------------------------------------------------------------------------


@pytest.mark.parametrize("emoji", ["📌", "pushpin", ":pushpin:"])
async def test_pushpin_marks_a_key_message_and_removing_it_unmarks(console, emoji):
    await declared(console)
    posted_at = console.clock.now()
    msg = await say(console, "Rollback of the 08:55 deploy fixed it", user="carol")
    console.clock.advance(timedelta(minutes=7))
    console.session.as_user("bob")
    await console.session.join(CHANNEL)  # only channel members' reactions count
    await console.session.react(emoji, msg.id)

    [pinned] = await entries(console, "pinned")
    assert (pinned.text, pinned.message_id) == ("Rollback of the 08:55 deploy fixed it", msg.id)
    assert pinned.actor_id == "UBOB" and pinned.at == console.clock.now()
    assert pinned.data["original_at"] == posted_at.isoformat()
    assert pinned.data["author_id"] == "UCAROL"

    console.clock.advance(timedelta(minutes=1))
    await console.session.react(emoji, msg.id, remove=True)
    [unpinned] = await entries(console, "unpinned")
    assert unpinned.message_id == msg.id and unpinned.at == console.clock.now()
    assert len(await entries(console, "pinned")) == 1


@pytest.mark.parametrize("emoji", ["🚨", "rotating_light"])
async def test_siren_escalates_one_step_and_says_who(console, emoji):
    ch = await declared(console)
    msg = await say(console, "It's spreading to the EU region")
    console.session.as_user("bob")
    await console.session.join(CHANNEL)  # only channel members' reactions count
    await console.session.react(emoji, msg.id)
    assert (await incident(console)).severity == "SEV2"
    notice = ch.messages[-1].text
    assert notice.startswith("⬆️ @bob changed severity **SEV3 → SEV2**")
    assert "reaction" in notice
    assert "Severity: SEV2 (high)" in (await card(console)).text
    [change] = await entries(console, "severity")
    assert change.actor_id == "UBOB"

    await console.session.react(emoji, msg.id, remove=True)
    await console.session.react("thumbsup", msg.id)
    assert (await incident(console)).severity == "SEV2"
    assert len(await entries(console, "severity")) == 1


# --- buttons and forms ------------------------------------------------------------------


async def test_card_buttons_take_the_roles(console):
    ch = await declared(console)
    card_id = (await card(console)).id
    console.session.as_user("bob")
    await console.session.press(card_id, "Take commander")
    console.session.as_user("carol")
    await console.session.press(card_id, "Take comms")

    async with console.app.db.reader() as tx:
        roles = await repo.roles(tx, incident_id=(await incident(console)).id or 0)
    assert (roles["commander"].user_id, roles["comms"].user_id) == ("UBOB", "UCAROL")
    text = (await card(console)).text
    assert "Incident commander: @bob" in text and "Comms lead: @carol" in text
    assert ch.topic.endswith("IC: bob · Comms: carol")
    assert "@carol made @carol **Comms lead** (was @alice)" in ch.messages[-1].text
    assert {"UBOB", "UCAROL"} <= ch.members


@pytest.mark.parametrize(("label", "modal"), [("Resolve", "resolve"), ("Post update", "update")])
async def test_resolve_and_update_buttons_ask_for_a_form(console, label, modal):
    await declared(console)
    before = len(await entries(console))
    out = await console.session.press((await card(console)).id, label)
    assert out.modal == modal
    assert out.modal_context == {"incident": "1"}
    assert (await incident(console)).status == "investigating"
    assert len(await entries(console)) == before


async def test_declare_form(console):
    console.session.as_user("dave")
    out = await submit(
        console, "declare", "form-1", title="Payments failing", severity="SEV1", commander="@erin"
    )
    assert out.incident_number == 1
    inc = await incident(console)
    assert (inc.title, inc.severity, inc.declared_by_name) == ("Payments failing", "SEV1", "dave")
    assert "Incident commander: @erin" in (await card(console)).text
    assert console.session.ws.channel_by_name("inc-1-payments-failing") is not None

    out = await submit(console, "declare", "form-2", title="  ", severity="SEV1")
    assert "The title is required." in console.session.render_reply(out)
    out = await submit(console, "nonsense", "form-3")
    assert "not one of warroom's" in console.session.render_reply(out)
    async with console.app.db.reader() as tx:
        assert len(await repo.all_incidents(tx)) == 1


async def test_update_and_resolve_forms(console):
    ch = await declared(console)
    await submit(console, "update", "form-1", text="Failover complete")
    assert (await incident(console)).latest_update == "Failover complete"
    assert "Failover complete" in ch.messages[-1].text
    announcements = console.session.go("incidents").messages
    assert "Failover complete" in announcements[-1].text
    console.session.go(ch.name)

    console.clock.advance(timedelta(minutes=20))
    await submit(console, "resolve", "form-2", summary="Replica promoted")
    inc = await incident(console)
    assert (inc.status, inc.resolved_at) == ("resolved", console.clock.now())
    [resolved] = await entries(console, "resolved")
    assert resolved.text == "Replica promoted"


# --- membership and redelivery ----------------------------------------------------------


async def test_joining_adds_a_participant_once(console):
    ch = await declared(console)
    console.clock.advance(timedelta(minutes=2))
    console.session.as_user("erin")
    await console.session.join(ch.name)
    assert "erin" in {p.user_name for p in await participants(console)}
    [joined] = await entries(console, "joined")
    assert (joined.actor_id, joined.at) == ("UERIN", console.clock.now())

    user, channel = refs(console)
    await console.session.deliver(MemberJoined(key="again", user=user, channel=channel))
    assert len(await entries(console, "joined")) == 1
    assert len([p for p in await participants(console) if p.user_id == "UERIN"]) == 1


async def test_a_redelivered_event_is_recorded_once(console):
    ch = await declared(console)
    user, channel = refs(console)
    posted = MessagePosted(
        key="slack:Ev1",
        user=user,
        channel=channel,
        at=console.clock.now(),
        message=MessageRef(channel.id, "m-ext-1"),
        text="Gateway restarted",
    )
    first = await console.session.deliver(posted)
    second = await console.session.deliver(posted)
    assert (first.duplicate, second.duplicate) == (False, True)
    assert [e.text for e in await entries(console, "chat")] == ["Gateway restarted"]

    command = CommandInvoked(key="slack:Ev2", user=user, channel=channel, text="update Restarted")
    await console.session.deliver(command)
    again = await console.session.deliver(command)
    assert again.duplicate
    assert len(await entries(console, "update")) == 1
    assert sum("Restarted" in m.text for m in ch.messages) == 1
