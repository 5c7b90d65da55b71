"""Discord payloads -> neutral inbound events (`bot.events`). Pure functions, no I/O.

Every function takes the raw gateway shape (a Mapping, as Discord sends it); `app.py`
passes `interaction.data` and friends, or rebuilds the few fields it needs from a
discord.py object, so these stay testable without a client.

The slash command: `/incident` is a group with one subcommand per grammar subcommand
(`adapters/discord/slash.py`), whose typed options (choices, members, autocomplete) are
rebuilt here into the grammar text (`declare SEV2 Checkout down --playbook x`), the same
text the Slack and console adapters hand to the core, which parses it and gives the same
errors. `run text:<…>` carries free text.

Idempotency keys: interactions use their id (Discord redelivers nothing, but a retried
handler must not act twice); messages use their id plus the kind of event (edits add the
edit time, so each edit counts once); reactions have no id of their own, so the key is
message + user + emoji + add/remove.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.discord.render import parse_custom_id
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ModalSubmitted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.port import ChannelRef, MessageRef, UserRef

Payload = Mapping[str, Any]

TEXT_OPTION = "text"


def when(value: object) -> datetime | None:
    """An ISO 8601 timestamp (or a datetime) as an aware datetime, or None."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def user(data: object) -> UserRef:
    """A user object, or an interaction's `member` (which wraps one), as a UserRef."""
    if not isinstance(data, Mapping):
        return UserRef("")
    inner = data.get("user")
    nick = str(data.get("nick") or "")
    if isinstance(inner, Mapping):
        data = inner
    name = nick or str(data.get("global_name") or data.get("username") or "")
    return UserRef(str(data.get("id", "")), name)


def _actor(ix: Payload) -> UserRef:
    return user(ix.get("member") or ix.get("user"))


def _channel(ix: Payload) -> ChannelRef:
    channel = ix.get("channel")
    name = str(channel.get("name") or "") if isinstance(channel, Mapping) else ""
    return ChannelRef(str(ix.get("channel_id", "")), name)


# --- interactions --------------------------------------------------------------------


USER_OPTION = 6

# Subcommand of the `/incident` group -> (grammar words, positional options in order,
# value flags, boolean flags). The rebuilt text is parsed by the core like any other.
SUBCOMMANDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "declare": (
        "declare",
        ("severity", "title"),
        ("playbook", "impact", "urgency", "commander", "comms"),
        ("private", "drill"),
    ),
    "sev": ("sev", ("level",), (), ()),
    "status": ("status", ("state",), (), ()),
    "commander": ("commander", ("user",), (), ()),
    "comms": ("comms", ("user", "template"), (), ("post",)),
    "role": ("role", ("name", "user"), (), ()),
    "update": ("update", ("text",), (), ()),
    "note": ("note", ("text",), (), ()),
    "task_add": ("task add", ("text", "owner"), (), ()),
    "task_done": ("task done", ("number",), (), ()),
    "resolve": ("resolve", ("summary",), (), ()),
    "snooze": ("snooze", ("duration",), (), ()),
    "help": ("help", ("topic",), (), ()),
    "run": ("", (TEXT_OPTION,), (), ()),
}


def _option_value(option: Payload) -> str:
    value = option.get("value")
    if option.get("type") == USER_OPTION:
        return f"<@{value}>" if value else ""
    return "" if value is None else str(value).strip()


# Options whose value is all text: they go last, after a bare `--`, so that none of
# their words is read as a flag or a severity (a title "--force push broke main").
LITERAL = {"declare": "title"}


def subcommand_text(name: str, options: list[Payload]) -> str:
    """A group subcommand and its options as grammar text: `sev` with `level:SEV1` is
    `sev SEV1`; `declare` with `title`, `playbook` and `private` is
    `declare --playbook <p> --private -- <title>`."""
    values = {str(o.get("name", "")): o for o in options if isinstance(o, Mapping)}
    words, positional, flags, bools = SUBCOMMANDS.get(name, (name.replace("_", " "), (), (), ()))
    literal = LITERAL.get(name, "")
    out = [words]
    out += [_option_value(values[n]) for n in positional if n in values and n != literal]
    for flag in flags:
        if flag in values and _option_value(values[flag]):
            out += [f"--{flag}", _option_value(values[flag])]
    out += [f"--{flag}" for flag in bools if flag in values and values[flag].get("value")]
    known = {*positional, *flags, *bools}
    out += [_option_value(o) for n, o in values.items() if n not in known]
    if literal in values and _option_value(values[literal]):
        out += ["--", _option_value(values[literal])]
    return " ".join(w for w in out if w).strip()


def command_text(data: Payload) -> str:
    """The grammar text of an `/incident` interaction: a subcommand of the group rebuilt
    as text (`subcommand_text`), or the single command's `text` option."""
    for option in data.get("options") or []:
        if option.get("type") == 1:
            return subcommand_text(str(option.get("name", "")), option.get("options") or [])
        if option.get("type") == 2:  # a nested group: its name is a word
            return f"{option.get('name', '')} {command_text(option)}".strip()
    texts = [o for o in data.get("options") or [] if o.get("name") == TEXT_OPTION]
    return str(texts[0].get("value") or "").strip() if texts else ""


def command(ix: Payload) -> CommandInvoked:
    """An APPLICATION_COMMAND interaction -> CommandInvoked."""
    return CommandInvoked(
        key=f"discord:ix:{ix.get('id', '')}",
        user=_actor(ix),
        channel=_channel(ix),
        text=command_text(ix.get("data") or {}),
    )


def button(ix: Payload) -> ButtonPressed | None:
    """A MESSAGE_COMPONENT interaction (a button) -> ButtonPressed."""
    data = ix.get("data") or {}
    if data.get("component_type", 2) != 2 or not data.get("custom_id"):
        return None
    action_id, value = parse_custom_id(str(data["custom_id"]))
    channel = _channel(ix)
    message = ix.get("message") or {}
    return ButtonPressed(
        key=f"discord:ix:{ix.get('id', '')}",
        user=_actor(ix),
        channel=channel,
        action_id=action_id,
        value=value,
        message=MessageRef(channel.id, str(message["id"])) if message.get("id") else None,
    )


def modal_values(data: Payload) -> dict[str, str]:
    """A modal's text inputs (in action rows or labels) as custom_id -> value. A `flags`
    input ("private, drill") becomes `private` / `drill` = "true", like the other forms."""
    values: dict[str, str] = {}
    stack = list(data.get("components") or [])
    while stack:
        item = stack.pop(0)
        if not isinstance(item, Mapping):
            continue
        if "components" in item or "component" in item:
            stack.extend(item.get("components") or [item.get("component")])
            continue
        if item.get("custom_id") is not None and item.get("value") is not None:
            values[str(item["custom_id"])] = str(item["value"])
    for flag in values.pop("flags", "").replace(",", " ").lower().split():
        if flag in ("private", "drill"):
            values[flag] = "true"
    return values


def submission(ix: Payload) -> ModalSubmitted:
    """A MODAL_SUBMIT interaction -> ModalSubmitted. The modal's custom_id is
    `<modal id>:<incident number>` (the number may be empty)."""
    data = ix.get("data") or {}
    modal_id, _, metadata = str(data.get("custom_id", "")).partition(":")
    return ModalSubmitted(
        key=f"discord:ix:{ix.get('id', '')}",
        user=_actor(ix),
        channel=_channel(ix),
        modal_id=modal_id,
        values=modal_values(data),
        metadata=metadata,
    )


# --- gateway events ------------------------------------------------------------------


def _skip_author(author: object, bot_user_id: str) -> bool:
    """The bot's own messages, other bots' and webhooks' are not chat."""
    if not isinstance(author, Mapping) or not author.get("id"):
        return True
    return bool(author.get("bot")) or str(author["id"]) == bot_user_id


def message_create(data: Payload, *, bot_user_id: str) -> MessagePosted | None:
    if _skip_author(data.get("author"), bot_user_id) or data.get("webhook_id"):
        return None
    if data.get("type", 0) not in (0, 19):  # default and reply; not joins, pins, ...
        return None
    channel_id, message_id = str(data.get("channel_id", "")), str(data.get("id", ""))
    reference = data.get("message_reference") or {}
    thread = str(reference.get("message_id") or "") or None
    return MessagePosted(
        key=f"discord:msg:{message_id}:create",
        user=user({**(data.get("member") or {}), "user": data["author"]}),
        channel=ChannelRef(channel_id),
        at=when(data.get("timestamp")),
        message=MessageRef(channel_id, message_id),
        text=str(data.get("content") or ""),
        thread_id=thread,
    )


def message_update(data: Payload, *, bot_user_id: str) -> MessageEdited | None:
    """MESSAGE_UPDATE -> MessageEdited. Updates without `content` or `edited_timestamp`
    (an embed unfurled, a pin) are not edits."""
    if "content" not in data or not data.get("edited_timestamp"):
        return None
    if _skip_author(data.get("author"), bot_user_id):
        return None
    channel_id, message_id = str(data.get("channel_id", "")), str(data.get("id", ""))
    edited = str(data["edited_timestamp"])
    return MessageEdited(
        key=f"discord:msg:{message_id}:edit:{edited}",
        user=user(data["author"]),
        channel=ChannelRef(channel_id),
        at=when(edited),
        message=MessageRef(channel_id, message_id),
        text=str(data.get("content") or ""),
    )


def message_delete(data: Payload, *, author: Payload | None = None) -> MessageDeleted:
    """MESSAGE_DELETE has only ids; `author` comes from the client's cache when known."""
    channel_id, message_id = str(data.get("channel_id", "")), str(data.get("id", ""))
    return MessageDeleted(
        key=f"discord:msg:{message_id}:delete",
        user=user(author or {}),
        channel=ChannelRef(channel_id),
        message=MessageRef(channel_id, message_id),
    )


def emoji_name(emoji: object) -> str:
    """Unicode emoji as themselves; custom emoji by name."""
    if not isinstance(emoji, Mapping):
        return ""
    return str(emoji.get("name") or "")


def reaction(
    data: Payload, *, added: bool, bot_user_id: str
) -> ReactionAdded | ReactionRemoved | None:
    """MESSAGE_REACTION_ADD / _REMOVE -> ReactionAdded / ReactionRemoved."""
    user_id = str(data.get("user_id", ""))
    member = data.get("member") or {}
    if not user_id or user_id == bot_user_id or (member.get("user") or {}).get("bot"):
        return None
    emoji = emoji_name(data.get("emoji"))
    if not emoji:
        return None
    channel_id, message_id = str(data.get("channel_id", "")), str(data.get("message_id", ""))
    kind = "add" if added else "remove"
    event = ReactionAdded if added else ReactionRemoved
    name = user(member).name if member else ""
    return event(
        key=f"discord:react:{message_id}:{user_id}:{emoji}:{kind}",
        user=UserRef(user_id, name),
        channel=ChannelRef(channel_id),
        message=MessageRef(channel_id, message_id),
        emoji=emoji,
    )
