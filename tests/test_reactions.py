"""Reaction rules on the console platform: a configurable emoji -> action map, channel
members only, escalations announced with who and how, key messages with their permalink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.console.app import build_console
from bot.clock import ManualClock
from bot.port import Outcome
from bot.reactions import ReactionAction, emoji_key, emoji_label, parse_reactions
from tests.conftest import Console, make_settings
from tests.test_capture import CHANNEL, declared, entries, incident, say


@pytest.fixture
async def custom(tmp_path: Path) -> AsyncIterator[Console]:
    """The console with WARROOM_REACTIONS="fire=escalate, star=pin"."""
    clock = ManualClock()
    settings = make_settings(tmp_path, reactions="fire=escalate, star=pin")
    app, session = await build_console(settings, clock=clock)
    try:
        yield Console(app=app, session=session, clock=clock, settings=settings)
    finally:
        await app.stop()


def private_text(c: Console, user_id: str) -> list[str]:
    return [m.plain() for m in c.session.ws.private_for(user_id)]


# --- members ------------------------------------------------------------------------------


async def test_a_members_siren_escalates_and_the_channel_is_told_who_and_how(console):
    ch = await declared(console)
    msg = await say(console, "EU is down too")
    console.session.as_user("bob")
    await console.session.join(CHANNEL)
    await console.session.react("🚨", msg.id)

    assert (await incident(console)).severity == "SEV2"
    notice = ch.messages[-1].text
    assert notice == "⬆️ @bob changed severity **SEV3 → SEV2**: via 🚨 reaction"
    [change] = await entries(console, "severity")
    assert (change.actor_id, change.text) == ("UBOB", "SEV3 → SEV2 (via 🚨 reaction)")


async def test_a_members_pushpin_stores_the_permalink_and_removing_it_unmarks(console):
    await declared(console)
    posted_at = console.clock.now()
    msg = await say(console, "Found it: the 08:55 deploy", user="carol")
    console.clock.advance(timedelta(minutes=4))
    await console.session.react("pushpin", msg.id)  # carol, a member since she spoke

    [pinned] = await entries(console, "pinned")
    assert pinned.data["permalink"] == f"console://{CHANNEL}/{msg.id}"
    assert pinned.data["original_at"] == posted_at.isoformat()
    assert pinned.text == "Found it: the 08:55 deploy"

    await console.session.react("pushpin", msg.id, remove=True)
    [unpinned] = await entries(console, "unpinned")
    assert unpinned.message_id == msg.id and unpinned.actor_id == "UCAROL"


# --- non-members --------------------------------------------------------------------------


@pytest.mark.parametrize(("emoji", "doing"), [("🚨", "escalate"), ("📌", "mark key messages")])
async def test_a_non_members_reaction_changes_nothing_and_is_told_why(console, emoji, doing):
    ch = await declared(console)
    msg = await say(console, "Errors at 40%")
    shown = len(ch.messages)
    before = len(await entries(console))
    console.session.as_user("mallory")  # never joined the incident channel
    await console.session.react(emoji, msg.id)

    assert (await incident(console)).severity == "SEV3"
    assert len(ch.messages) == shown
    assert len(await entries(console)) == before
    [why] = private_text(console, "UMALLORY")
    assert f"Only members of this incident channel can {doing}" in why
    assert "Nothing was changed" in why

    await console.session.react(emoji, msg.id, remove=True)
    assert len(await entries(console)) == before  # removing it records nothing either


async def test_reactions_outside_incident_channels_say_nothing(console):
    await declared(console)
    console.session.go("general")
    msg = await say(console, "chatter")
    console.session.as_user("mallory")
    assert await console.session.react("🚨", msg.id) == Outcome()
    assert private_text(console, "UMALLORY") == []


# --- the map is configuration -------------------------------------------------------------


async def test_the_reaction_map_comes_from_settings(custom):
    ch = await declared(custom)
    msg = await say(custom, "Checkout is failing")
    await custom.session.react("🚨", msg.id)  # not in this map
    await custom.session.react("pushpin", msg.id)
    assert (await incident(custom)).severity == "SEV3"
    assert await entries(custom, "pinned") == []

    await custom.session.react(":fire:", msg.id)
    assert (await incident(custom)).severity == "SEV2"
    assert ch.messages[-1].text.endswith("via :fire: reaction")
    await custom.session.react("star", msg.id)
    [pinned] = await entries(custom, "pinned")
    assert pinned.data["permalink"] == f"console://{CHANNEL}/{msg.id}"


def test_the_reaction_setting_is_validated(tmp_path):
    with pytest.raises(ValidationError, match="unknown reaction action 'explode'"):
        make_settings(tmp_path, reactions="fire=explode")
    with pytest.raises(ValidationError, match="not emoji=action"):
        make_settings(tmp_path, reactions="fire")
    assert make_settings(tmp_path, reactions="").reaction_map == {}
    assert make_settings(tmp_path).reaction_map == {
        "rotating_light": ReactionAction.ESCALATE,
        "pushpin": ReactionAction.PIN,
    }


def test_emoji_spellings_are_one_key():
    assert {emoji_key(e) for e in ("📌", "pushpin", ":pushpin:", " PushPin ")} == {"pushpin"}
    assert emoji_key("+1::skin-tone-3") == "+1"
    assert emoji_label("rotating_light") == "🚨" and emoji_label("fire") == ":fire:"
    assert parse_reactions("🚨=escalate") == {"rotating_light": ReactionAction.ESCALATE}
