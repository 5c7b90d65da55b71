"""Slack payloads -> neutral events: realistic payload dicts, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack import translate
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    MemberJoined,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ModalSubmitted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.port import ChannelRef, MessageRef, UserRef

BOT = "UBOT"


def slash(text: str, **extra: str) -> dict[str, str]:
    form = {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": "T0001",
        "team_domain": "example",
        "channel_id": "C2147483705",
        "channel_name": "general",
        "user_id": "U2147483697",
        "user_name": "steve",
        "command": "/incident",
        "text": text,
        "api_app_id": "A123456",
        "response_url": "https://hooks.slack.com/commands/1234/5678",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    form.update(extra)
    return form


def callback(event: dict[str, Any], event_id: str = "Ev08MFMKH6") -> dict[str, Any]:
    return {
        "token": "XXYYZZ",
        "team_id": "T0001",
        "api_app_id": "A123456",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1712345678,
        "authorizations": [{"user_id": BOT, "is_bot": True}],
    }


# --- slash commands ----------------------------------------------------------------------


def test_a_slash_command_becomes_command_invoked():
    event = translate.command(slash("declare SEV2 Checkout errors"))
    assert event == CommandInvoked(
        key="slack:cmd:13345224609.738474920.8088930838d88f008e0",
        user=UserRef("U2147483697", "steve"),
        channel=ChannelRef("C2147483705", "general"),
        text="declare SEV2 Checkout errors",
    )


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("update R&amp;D &lt;b&gt; ok", "update R&D <b> ok"),
        ("update literally &amp;lt; here", "update literally &lt; here"),  # once, not twice
        ("commander <@U123|alice>", "commander <@U123>"),
        ("commander <@W0AB|bob.smith>", "commander <@W0AB>"),
        ("note see <#C001|ops> and <https://status.example.com|status>", None),
        ("update &lt;!channel&gt; typed by a user", "update <!channel> typed by a user"),
        ("   ", ""),
    ],
)
def test_slash_text_is_unescaped_exactly_once(sent, expected):
    text = translate.command(slash(sent)).text
    if expected is None:
        assert text == "note see <#C001|ops> and https://status.example.com"
    else:
        assert text == expected


def test_an_escaped_mention_typed_as_text_is_not_turned_into_a_mention():
    # `&lt;@U1|x&gt;` is what Slack sends when someone types the characters "<@U1|x>".
    assert translate.unescape("&lt;@U1|x&gt;") == "<@U1|x>"


# --- messages ----------------------------------------------------------------------------


def test_a_channel_message_becomes_message_posted():
    event = translate.event(
        callback(
            {
                "type": "message",
                "channel": "C1",
                "user": "U1",
                "text": "rolling back &amp; watching <@U2|bob>",
                "ts": "1712345678.000200",
                "event_ts": "1712345678.000200",
                "channel_type": "channel",
            }
        ),
        bot_user_id=BOT,
    )
    assert event == MessagePosted(
        key="slack:Ev08MFMKH6",
        user=UserRef("U1"),
        channel=ChannelRef("C1"),
        at=datetime.fromtimestamp(1712345678.0002, UTC),
        message=MessageRef("C1", "1712345678.000200"),
        text="rolling back & watching <@U2>",
        thread_id=None,
    )
    assert event.at is not None and event.at.tzinfo is not None


def test_a_thread_reply_carries_its_thread():
    event = translate.event(
        callback(
            {
                "type": "message",
                "channel": "C1",
                "user": "U1",
                "text": "in thread",
                "ts": "1712345690.000300",
                "thread_ts": "1712345678.000200",
            }
        )
    )
    assert isinstance(event, MessagePosted)
    assert event.thread_id == "1712345678.000200"


@pytest.mark.parametrize(
    "extra",
    [{"bot_id": "B1", "user": "U9"}, {"user": BOT}, {"subtype": "bot_message", "bot_id": "B1"}],
)
def test_the_bot_own_messages_are_skipped(extra):
    event = {"type": "message", "channel": "C1", "text": "card", "ts": "1.2", **extra}
    assert translate.event(callback(event), bot_user_id=BOT) is None


@pytest.mark.parametrize(
    "subtype", ["channel_join", "channel_topic", "channel_purpose", "pinned_item"]
)
def test_system_messages_are_skipped(subtype):
    event = {"type": "message", "subtype": subtype, "channel": "C1", "user": "U1", "ts": "1.2"}
    assert translate.event(callback(event), bot_user_id=BOT) is None


def test_an_edit_becomes_message_edited():
    event = translate.event(
        callback(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": "C1",
                "hidden": True,
                "message": {
                    "type": "message",
                    "user": "U1",
                    "text": "fixed &gt; broken",
                    "ts": "1712345678.000200",
                    "edited": {"user": "U1", "ts": "1712345700.000000"},
                },
                "previous_message": {
                    "type": "message",
                    "user": "U1",
                    "text": "fixd",
                    "ts": "1712345678.000200",
                },
                "event_ts": "1712345700.000100",
                "ts": "1712345700.000100",
            },
            event_id="Ev2",
        )
    )
    assert isinstance(event, MessageEdited)
    assert (event.key, event.user, event.message, event.text) == (
        "slack:Ev2",
        UserRef("U1"),
        MessageRef("C1", "1712345678.000200"),
        "fixed > broken",
    )


def test_an_unfurl_is_not_an_edit_and_the_bot_edits_are_skipped():
    same = {"user": "U1", "text": "see https://x", "ts": "1.1"}
    unfurl = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "message": {**same, "attachments": [{}]},
        "previous_message": same,
    }
    assert translate.event(callback(unfurl)) is None
    bot_edit = {**unfurl, "message": {"user": BOT, "text": "new", "ts": "1.1"}}
    assert translate.event(callback(bot_edit), bot_user_id=BOT) is None


def test_a_deletion_becomes_message_deleted():
    event = translate.event(
        callback(
            {
                "type": "message",
                "subtype": "message_deleted",
                "channel": "C1",
                "hidden": True,
                "deleted_ts": "1712345678.000200",
                "previous_message": {
                    "type": "message",
                    "user": "U1",
                    "text": "oops",
                    "ts": "1712345678.000200",
                },
                "event_ts": "1712345800.000100",
                "ts": "1712345800.000100",
            },
            event_id="Ev3",
        )
    )
    assert isinstance(event, MessageDeleted)
    assert (event.user, event.message) == (UserRef("U1"), MessageRef("C1", "1712345678.000200"))


# --- reactions and joins -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "cls"), [("reaction_added", ReactionAdded), ("reaction_removed", ReactionRemoved)]
)
def test_reactions_carry_the_emoji_name_and_the_message(kind, cls):
    event = translate.event(
        callback(
            {
                "type": kind,
                "user": "U1",
                "reaction": "rotating_light",
                "item_user": "U2",
                "item": {"type": "message", "channel": "C1", "ts": "1712345678.000200"},
                "event_ts": "1712345900.000100",
            },
            event_id="Ev4",
        ),
        bot_user_id=BOT,
    )
    assert isinstance(event, cls)
    assert (event.key, event.emoji, event.channel, event.message) == (
        "slack:Ev4",
        "rotating_light",
        ChannelRef("C1"),
        MessageRef("C1", "1712345678.000200"),
    )


def test_reactions_on_files_and_by_the_bot_are_skipped():
    on_file = {
        "type": "reaction_added",
        "user": "U1",
        "reaction": "pushpin",
        "item": {"type": "file", "file": "F1"},
        "event_ts": "1.0",
    }
    assert translate.event(callback(on_file)) is None
    by_bot = {**on_file, "user": BOT, "item": {"type": "message", "channel": "C1", "ts": "1.1"}}
    assert translate.event(callback(by_bot), bot_user_id=BOT) is None


def test_a_join_becomes_member_joined_but_not_the_bot_own():
    join = {
        "type": "member_joined_channel",
        "user": "U7",
        "channel": "C1",
        "channel_type": "C",
        "team": "T0001",
        "inviter": "UBOT",
        "event_ts": "1712345678.0",
    }
    event = translate.event(callback(join, event_id="Ev5"), bot_user_id=BOT)
    assert event == MemberJoined(
        key="slack:Ev5",
        user=UserRef("U7"),
        channel=ChannelRef("C1"),
        at=datetime.fromtimestamp(1712345678, UTC),
    )
    assert translate.event(callback({**join, "user": BOT}), bot_user_id=BOT) is None


def test_unknown_events_are_skipped():
    assert translate.event(callback({"type": "app_mention", "user": "U1", "text": "hi"})) is None
    assert translate.event({"type": "event_callback"}) is None


# --- interactivity -----------------------------------------------------------------------


def block_actions(action_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U1", "username": "alice", "name": "alice", "team_id": "T0001"},
        "api_app_id": "A123456",
        "container": {
            "type": "message",
            "message_ts": "1712345678.000200",
            "channel_id": "C1",
            "is_ephemeral": False,
        },
        "trigger_id": "123.456.abc",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": "C1", "name": "inc-1-checkout"},
        "message": {"type": "message", "user": BOT, "ts": "1712345678.000200", "text": "card"},
        "response_url": "https://hooks.slack.com/actions/T0001/1/x",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Take commander"},
                "value": value,
                "type": "button",
                "action_ts": "1712345999.123456",
            }
        ],
    }


def test_a_button_press_becomes_button_pressed():
    event = translate.button(block_actions("incident.take_commander", "1"))
    assert event == ButtonPressed(
        key="slack:act:123.456.abc",
        user=UserRef("U1", "alice"),
        channel=ChannelRef("C1", "inc-1-checkout"),
        at=datetime.fromtimestamp(1712345999.123456, UTC),
        action_id="incident.take_commander",
        value="1",
        message=MessageRef("C1", "1712345678.000200"),
    )


def test_a_payload_without_actions_is_skipped():
    assert translate.button({"type": "block_actions", "actions": []}) is None


def view_submission(callback_id: str, values: dict[str, Any], metadata: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U1", "username": "alice", "name": "alice"},
        "api_app_id": "A123456",
        "trigger_id": "789.012.def",
        "view": {
            "id": "V123",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "hash": "156772938.1827394",
            "state": {"values": values},
        },
    }


def test_a_declare_form_is_flattened_into_the_values_the_core_reads():
    values = {
        "title": {"title": {"type": "plain_text_input", "value": "Checkout <errors> & more"}},
        "severity": {
            "severity": {"type": "static_select", "selected_option": {"text": {}, "value": "SEV2"}}
        },
        "playbook": {"playbook": {"type": "static_select", "selected_option": None}},
        "summary": {"summary": {"type": "plain_text_input", "value": None}},
        "commander": {"commander": {"type": "users_select", "selected_user": "U42"}},
        "flags": {
            "flags": {
                "type": "checkboxes",
                "selected_options": [{"value": "private"}, {"value": "drill"}],
            }
        },
    }
    event = translate.submission(view_submission("declare", values, json.dumps({"channel": "C9"})))
    assert isinstance(event, ModalSubmitted)
    assert event.modal_id == "declare"
    assert event.channel == ChannelRef("C9")
    assert event.key == "slack:view:789.012.def"
    assert event.values == {
        "title": "Checkout <errors> & more",  # form values arrive raw: not unescaped
        "severity": "SEV2",
        "commander": "<@U42>",
        "private": "true",
        "drill": "true",
    }


def test_a_bare_channel_id_in_private_metadata_is_accepted():
    values = {"text": {"text": {"type": "plain_text_input", "value": "Rolled back"}}}
    event = translate.submission(view_submission("update", values, "C5"))
    assert (event.channel, event.values, event.metadata) == (
        ChannelRef("C5"),
        {"text": "Rolled back"},
        "C5",
    )
    assert translate.metadata("{not json") == {}
