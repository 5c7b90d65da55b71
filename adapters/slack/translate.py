"""Slack payloads -> neutral inbound events (`bot.events`). Pure functions, no I/O.

Text Slack sends (slash command text, message text) is escaped (`&amp; &lt; &gt;`); it is
unescaped here exactly once, after user mentions `<@U123|name>` are normalised to
`<@U123>`. Channel links `<#C123|name>` are kept; links `<https://…|label>` become the URL.
Form values (`view_submission`) are raw and are not unescaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.events import (
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    MemberJoined,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ModalSubmitted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.port import ChannelRef, MessageRef, UserRef

Payload = Mapping[str, Any]

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?://|mailto:)[^|>]+)(?:\|[^>]*)?>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Message subtypes that are ordinary chat (a reply in a thread sent to the channel too).
_CHAT_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message"})


def unescape(text: str) -> str:
    """Normalise mentions and links, then undo Slack's escaping, exactly once."""
    text = _USER.sub(r"<@\1>", text)
    text = _LINK.sub(r"\1", text)
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def when(ts: object) -> datetime | None:
    """A Slack timestamp ("1712345678.000200") as an aware UTC datetime."""
    try:
        return datetime.fromtimestamp(float(str(ts)), UTC)
    except (TypeError, ValueError):
        return None


def _user(data: Any) -> UserRef:
    if isinstance(data, Mapping):
        return UserRef(str(data.get("id", "")), str(data.get("username") or data.get("name") or ""))
    return UserRef(str(data or ""))


# --- slash commands ----------------------------------------------------------------------


def command(form: Payload) -> CommandInvoked:
    """A slash command's form fields (`command`, `text`, `user_id`, `trigger_id`, …)."""
    return CommandInvoked(
        key=f"slack:cmd:{form.get('trigger_id', '')}",
        user=UserRef(str(form.get("user_id", "")), str(form.get("user_name", ""))),
        channel=ChannelRef(str(form.get("channel_id", "")), str(form.get("channel_name", ""))),
        text=unescape(str(form.get("text") or "")).strip(),
    )


# --- Events API --------------------------------------------------------------------------


def _from_bot(event: Payload, bot_user_id: str) -> bool:
    if event.get("bot_id") or event.get("subtype") == "bot_message":
        return True
    return bool(bot_user_id) and event.get("user") == bot_user_id


def event(body: Payload, *, bot_user_id: str = "") -> InboundEvent | None:
    """An `event_callback` body (with `event_id` and `event`) -> an event, or None to skip."""
    ev = body.get("event")
    if not isinstance(ev, Mapping):
        return None
    key = f"slack:{body.get('event_id') or ev.get('event_ts') or ev.get('ts', '')}"
    match ev.get("type"):
        case "message":
            return _message(ev, key, bot_user_id)
        case "reaction_added" | "reaction_removed":
            return _reaction(ev, key, bot_user_id)
        case "member_joined_channel":
            user = str(ev.get("user", ""))
            if not user or user == bot_user_id:
                return None
            return MemberJoined(
                key=key,
                user=UserRef(user),
                channel=ChannelRef(str(ev.get("channel", ""))),
                at=when(ev.get("event_ts")),
            )
    return None


def membership(body: Payload) -> tuple[str, str, bool] | None:
    """`member_joined_channel` / `member_left_channel` -> (channel, user, joined), else None.

    The port's cached member lists follow these (only members' reactions count)."""
    ev = body.get("event")
    if not isinstance(ev, Mapping):
        return None
    kind, channel, user = ev.get("type"), str(ev.get("channel", "")), str(ev.get("user", ""))
    if kind not in ("member_joined_channel", "member_left_channel") or not (channel and user):
        return None
    return channel, user, kind == "member_joined_channel"


def _message(ev: Payload, key: str, bot_user_id: str) -> InboundEvent | None:
    channel = ChannelRef(str(ev.get("channel", "")))
    subtype = str(ev.get("subtype") or "")
    if subtype == "message_changed":
        new, old = ev.get("message") or {}, ev.get("previous_message") or {}
        if _from_bot(new, bot_user_id) or not new.get("user"):
            return None
        if new.get("text") == old.get("text"):  # a link unfurled; nobody edited anything
            return None
        return MessageEdited(
            key=key,
            user=UserRef(str(new["user"])),
            channel=channel,
            at=when(ev.get("event_ts") or ev.get("ts")),
            message=MessageRef(channel.id, str(new.get("ts", ""))),
            text=unescape(str(new.get("text") or "")),
        )
    if subtype == "message_deleted":
        old = ev.get("previous_message") or {}
        if _from_bot(old, bot_user_id):
            return None
        return MessageDeleted(
            key=key,
            user=UserRef(str(old.get("user", ""))),
            channel=channel,
            at=when(ev.get("event_ts") or ev.get("ts")),
            message=MessageRef(channel.id, str(ev.get("deleted_ts") or old.get("ts", ""))),
        )
    if subtype not in _CHAT_SUBTYPES or _from_bot(ev, bot_user_id) or not ev.get("user"):
        return None
    ts = str(ev.get("ts", ""))
    thread = str(ev.get("thread_ts") or "")
    return MessagePosted(
        key=key,
        user=UserRef(str(ev["user"])),
        channel=channel,
        at=when(ts),
        message=MessageRef(channel.id, ts),
        text=unescape(str(ev.get("text") or "")),
        thread_id=thread if thread and thread != ts else None,
    )


def _reaction(ev: Payload, key: str, bot_user_id: str) -> InboundEvent | None:
    item = ev.get("item") or {}
    user = str(ev.get("user", ""))
    if item.get("type", "message") != "message" or not user or user == bot_user_id:
        return None
    channel = str(item.get("channel", ""))
    kind = ReactionAdded if ev.get("type") == "reaction_added" else ReactionRemoved
    return kind(
        key=key,
        user=UserRef(user),
        channel=ChannelRef(channel),
        at=when(ev.get("event_ts")),
        message=MessageRef(channel, str(item.get("ts", ""))),
        emoji=str(ev.get("reaction", "")),
    )


# --- interactivity -----------------------------------------------------------------------


def button(payload: Payload) -> ButtonPressed | None:
    """A `block_actions` payload -> the press of its (first) button."""
    actions = payload.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    container = payload.get("container") or {}
    channel_data = payload.get("channel") or {}
    channel_id = str(channel_data.get("id") or container.get("channel_id") or "")
    message_ts = str((payload.get("message") or {}).get("ts") or container.get("message_ts") or "")
    unique = payload.get("trigger_id") or action.get("action_ts", "")
    return ButtonPressed(
        key=f"slack:act:{unique}",
        user=_user(payload.get("user")),
        channel=ChannelRef(channel_id, str(channel_data.get("name", ""))),
        at=when(action.get("action_ts")),
        action_id=str(action.get("action_id", "")),
        value=str(action.get("value") or ""),
        message=MessageRef(channel_id, message_ts) if channel_id and message_ts else None,
    )


def metadata(private_metadata: str) -> dict[str, str]:
    """What `app.py` puts in a view's private_metadata: JSON, or a bare channel id."""
    if private_metadata.startswith("{"):
        try:
            data = json.loads(private_metadata)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {"channel": private_metadata} if private_metadata else {}


def state_values(state: Payload) -> dict[str, str]:
    """`view.state.values` flattened to action_id -> value. Checkbox options become
    `<option value>: "true"` (so `private` / `drill` read like the console's flags)."""
    values: dict[str, str] = {}
    for block in (state.get("values") or {}).values():
        for action_id, element in block.items():
            kind = element.get("type")
            if kind == "checkboxes":
                for option in element.get("selected_options") or []:
                    values[str(option.get("value"))] = "true"
                continue
            if kind in ("static_select", "radio_buttons", "external_select"):
                value = (element.get("selected_option") or {}).get("value")
            elif kind == "users_select":
                user = element.get("selected_user")
                value = f"<@{user}>" if user else None
            elif kind == "conversations_select":
                value = element.get("selected_conversation")
            elif kind == "channels_select":
                value = element.get("selected_channel")
            else:
                value = element.get("value")
            if value is not None:
                values[str(action_id)] = str(value)
    return values


def submission(payload: Payload) -> ModalSubmitted:
    """A `view_submission` payload -> ModalSubmitted (channel from private_metadata)."""
    view = payload.get("view") or {}
    raw = str(view.get("private_metadata") or "")
    meta = metadata(raw)
    unique = payload.get("trigger_id") or f"{view.get('id', '')}:{view.get('hash', '')}"
    return ModalSubmitted(
        key=f"slack:view:{unique}",
        user=_user(payload.get("user")),
        channel=ChannelRef(meta.get("channel", "")),
        modal_id=str(view.get("callback_id", "")),
        values=state_values(view.get("state") or {}),
        metadata=raw,
    )
