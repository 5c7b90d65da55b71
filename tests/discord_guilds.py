"""Guilds, the application's flags and the gateway's checks for the loopback fake
(`tests/discord_fake.py`).

- A fake Discord holds one guild by default; `FakeDiscord.add_guild` adds more. Each guild
  has its own members and @everyone permissions; channels carry their `guild_id`.
- The application's flags (`GET /oauth2/applications/@me`, and READY's `application`)
  say which privileged intents the bot may ask for. As on Discord, an IDENTIFY asking for
  a privileged intent the application lacks is closed with 4014, and a wrong token with
  4004. Bit values are `discord.ApplicationFlags` / `discord.Intents` (discord.py 2.7.1).
- Member search (gateway op 8, REQUEST_GUILD_MEMBERS) matches a username or nickname
  prefix, case-insensitively, like Discord.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.discord_gateway import DM, JSON, everyone_role, now

# Application flags
GATEWAY_PRESENCE, GATEWAY_PRESENCE_LIMITED = 1 << 12, 1 << 13
GATEWAY_GUILD_MEMBERS, GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 14, 1 << 15
GATEWAY_MESSAGE_CONTENT, GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 18, 1 << 19

# Gateway intents that need an application flag: intent bit -> (flags that allow it, name)
GUILD_MEMBERS_INTENT, GUILD_PRESENCES_INTENT, MESSAGE_CONTENT_INTENT = 1 << 1, 1 << 8, 1 << 15
PRIVILEGED: dict[int, tuple[int, str]] = {
    GUILD_MEMBERS_INTENT: (GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED, "members"),
    GUILD_PRESENCES_INTENT: (GATEWAY_PRESENCE | GATEWAY_PRESENCE_LIMITED, "presences"),
    MESSAGE_CONTENT_INTENT: (
        GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED,
        "message_content",
    ),
}

# Gateway close codes
AUTHENTICATION_FAILED, DISALLOWED_INTENTS = 4004, 4014


def refused_intents(intents: int, flags: int) -> list[str]:
    """The privileged intents asked for that the application's flags do not allow."""
    return [
        name for bit, (allowed, name) in PRIVILEGED.items() if intents & bit and not flags & allowed
    ]


@dataclass
class Guild:
    id: str
    name: str
    member_ids: list[str] = field(default_factory=list)
    everyone_permissions: str = ""

    def __post_init__(self) -> None:
        self.everyone_permissions = (
            self.everyone_permissions or everyone_role(self.id)["permissions"]
        )


def guild_payload(
    guild: Guild,
    channels: list[JSON],
    member: Callable[[str], JSON],
    *,
    all_members: bool = True,
    bot_user_id: str = "",
) -> JSON:
    """The guild as GUILD_CREATE sends it. Without the members intent Discord sends only the
    bot's own member object (`all_members=False`)."""
    shown = [u for u in guild.member_ids if all_members or u == bot_user_id]
    return {
        "id": guild.id,
        "name": guild.name,
        "icon": None,
        "owner_id": guild.member_ids[-1] if guild.member_ids else "0",
        "roles": [{**everyone_role(guild.id), "permissions": guild.everyone_permissions}],
        "emojis": [],
        "stickers": [],
        "features": [],
        "channels": [c for c in channels if c["type"] != DM and c.get("guild_id") == guild.id],
        "members": [member(u) for u in shown],
        "member_count": len(guild.member_ids),
        "threads": [],
        "voice_states": [],
        "presences": [],
        "large": False,
        "unavailable": False,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "nsfw_level": 0,
        "system_channel_flags": 0,
        "preferred_locale": "en-US",
        "joined_at": now(),
    }


def member_search(guild: Guild, users: dict[str, JSON], request: dict[str, Any]) -> list[str]:
    """The member ids REQUEST_GUILD_MEMBERS answers: `user_ids`, or a name prefix (`query`;
    "" with limit 0 is everyone), at most `limit` (0: no limit)."""
    wanted = request.get("user_ids")
    if wanted is not None:
        ids = [str(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
        return [u for u in ids if u in guild.member_ids]
    query = str(request.get("query") or "").casefold()
    found = [
        u
        for u in guild.member_ids
        if any(
            str(users[u].get(key) or "").casefold().startswith(query)
            for key in ("username", "global_name")
        )
    ]
    limit = int(request.get("limit") or 0)
    return found[:limit] if limit else found
