"""Discord payload shapes for the loopback fake (`tests/discord_fake.py`).

Objects follow the Discord API docs (v10): users, members, roles, channels, messages and
the INTERACTION_CREATE data of application commands, components and modal submits. The
fake's gateway opcodes are here too.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

# Gateway opcodes
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT = 0, 1, 2, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11

MESSAGE_CONTENT_INTENT = 1 << 15
EPHEMERAL = 64
ALL_PERMISSIONS = str((1 << 51) - 1)

# Interaction types and the option types of application commands
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
SUB_COMMAND, STRING, INTEGER, BOOLEAN, USER = 1, 3, 4, 5, 6
AUTOCOMPLETE_RESULT = 8  # the interaction callback type that answers AUTOCOMPLETE

TEXT, DM, CATEGORY = 0, 1, 4


class Snowflakes:
    """Increasing snowflake ids, as strings (the way Discord sends them)."""

    def __init__(self, start: int = 1_100_000_000_000_000_000) -> None:
        self._next = itertools.count(start)

    def __call__(self) -> str:
        return str(next(self._next))


def now() -> str:
    return datetime.now(UTC).isoformat()


def user(user_id: str, name: str, *, bot: bool = False) -> JSON:
    return {
        "id": user_id,
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def member(user_obj: JSON, *, roles: list[str] | None = None) -> JSON:
    return {
        "user": user_obj,
        "nick": None,
        "roles": roles or [],
        "joined_at": now(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
    }


def everyone_role(guild_id: str) -> JSON:
    return {
        "id": guild_id,
        "name": "@everyone",
        "color": 0,
        "hoist": False,
        "position": 0,
        "permissions": "1071698660929",
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def channel(
    channel_id: str, guild_id: str, name: str, *, kind: int = TEXT, parent_id: str | None = None
) -> JSON:
    return {
        "id": channel_id,
        "type": kind,
        "guild_id": guild_id,
        "name": name,
        "position": 0,
        "parent_id": parent_id,
        "topic": None,
        "nsfw": False,
        "permission_overwrites": [],
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }


def message(
    message_id: str, channel_id: str, guild_id: str | None, author: JSON, **extra: Any
) -> JSON:
    msg: JSON = {
        "id": message_id,
        "channel_id": channel_id,
        "author": author,
        "content": "",
        "timestamp": now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "components": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
    if guild_id is not None:
        msg["guild_id"] = guild_id
    msg.update(extra)
    return msg


class UserId(str):
    """A USER option's value (a member's id), for `command_options`."""


def command_options(values: dict[str, Any], *, focused: str = "") -> list[JSON]:
    """Application command options from plain values (str, int, bool, UserId); `focused`
    names the option being typed in an AUTOCOMPLETE interaction."""
    options = []
    for name, value in values.items():
        kind = BOOLEAN if isinstance(value, bool) else INTEGER if isinstance(value, int) else STRING
        kind = USER if isinstance(value, UserId) else kind
        option: JSON = {"name": name, "type": kind, "value": value}
        if name == focused:
            option["focused"] = True
        options.append(option)
    return options


def modal_components(values: dict[str, str]) -> list[JSON]:
    """Modal submit data: one action row per text input, as Discord sends it."""
    return [
        {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
        for key, value in values.items()
    ]
