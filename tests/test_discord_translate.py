"""Discord payloads -> neutral events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.discord import translate
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.port import ChannelRef, MessageRef, UserRef

BOT = "900"
AUTHOR = {"id": "111", "username": "alice", "global_name": "Alice"}


def _ix(**extra: Any) -> dict[str, Any]:
    return {
        "id": "5000",
        "channel_id": "10",
        "channel": {"name": "inc-7"},
        "member": {"user": AUTHOR, "nick": None},
        **extra,
    }


def test_slash_command_text():
    data = {"name": "incident", "options": [{"name": "text", "type": 3, "value": " sev 1 "}]}
    event = translate.command(_ix(type=2, data=data))
    assert event == CommandInvoked(
        key="discord:ix:5000",
        user=UserRef("111", "Alice"),
        channel=ChannelRef("10", "inc-7"),
        text="sev 1",
    )
    assert translate.command(_ix(type=2, data={"name": "incident"})).text == ""


def test_subcommand_words_join_the_text():
    data = {
        "options": [{"name": "declare", "type": 1, "options": [{"name": "text", "value": "x"}]}]
    }
    assert translate.command_text(data) == "declare x"


def test_button():
    data = {"component_type": 2, "custom_id": "incident.snooze:7:30m"}
    event = translate.button(_ix(type=3, data=data, message={"id": "77"}))
    assert isinstance(event, ButtonPressed)
    assert (event.action_id, event.value) == ("incident.snooze", "7:30m")
    assert event.message == MessageRef("10", "77")
    assert translate.button(_ix(type=3, data={"component_type": 3, "custom_id": "s"})) is None


def test_modal_submit():
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": "title", "value": "DB down"}]},
        {"type": 1, "components": [{"type": 4, "custom_id": "flags", "value": "Private, drill"}]},
    ]
    event = translate.submission(_ix(type=5, data={"custom_id": "declare:", "components": rows}))
    assert event.modal_id == "declare" and event.metadata == ""
    assert event.values == {"title": "DB down", "private": "true", "drill": "true"}
    update = translate.submission(_ix(type=5, data={"custom_id": "update:7", "components": []}))
    assert (update.modal_id, update.metadata) == ("update", "7")


def test_messages():
    data = {
        "id": "70",
        "channel_id": "10",
        "author": AUTHOR,
        "content": "rolled back <@222>",
        "timestamp": "2026-01-02T03:04:05+00:00",
        "type": 0,
    }
    posted = translate.message_create(data, bot_user_id=BOT)
    assert isinstance(posted, MessagePosted)
    assert posted.key == "discord:msg:70:create"
    assert posted.user == UserRef("111", "Alice")
    assert posted.text == "rolled back <@222>"
    assert posted.at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert translate.message_create({**data, "author": {"id": BOT}}, bot_user_id=BOT) is None
    assert (
        translate.message_create({**data, "author": {**AUTHOR, "bot": True}}, bot_user_id=BOT)
        is None
    )
    assert translate.message_create({**data, "type": 6}, bot_user_id=BOT) is None

    edit = {**data, "content": "rolled forward", "edited_timestamp": "2026-01-02T03:05:00+00:00"}
    edited = translate.message_update(edit, bot_user_id=BOT)
    assert isinstance(edited, MessageEdited)
    assert edited.key == "discord:msg:70:edit:2026-01-02T03:05:00+00:00"
    assert translate.message_update({**data, "embeds": []}, bot_user_id=BOT) is None

    deleted = translate.message_delete({"id": "70", "channel_id": "10"})
    assert isinstance(deleted, MessageDeleted)
    assert deleted.key == "discord:msg:70:delete" and deleted.message == MessageRef("10", "70")


def test_reactions():
    data = {"user_id": "111", "channel_id": "10", "message_id": "70", "emoji": {"name": "👀"}}
    added = translate.reaction(data, added=True, bot_user_id=BOT)
    assert isinstance(added, ReactionAdded) and added.emoji == "👀"
    removed = translate.reaction(data, added=False, bot_user_id=BOT)
    assert isinstance(removed, ReactionRemoved) and removed.key != added.key
    custom = {**data, "emoji": {"name": "rollback", "id": "3"}}
    assert translate.reaction(custom, added=True, bot_user_id=BOT).emoji == "rollback"  # type: ignore[union-attr]
    assert translate.reaction({**data, "user_id": BOT}, added=True, bot_user_id=BOT) is None
