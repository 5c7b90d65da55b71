"""`warroom check` for Discord: is the token valid, and what does the bot lack?"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.discord.server import DiscordNotConfigured, point_at, probe
from bot.config import Settings


@dataclass
class DiscordCheck:
    ok: bool
    lines: list[str] = field(default_factory=list)


async def check(settings: Settings) -> DiscordCheck:
    try:
        point_at(settings)
        found = await probe(settings, permissions=True)
    except DiscordNotConfigured as exc:
        return DiscordCheck(ok=False, lines=[f"Discord: {exc}"])
    lines = [f"Discord: logged in as {found.user}"]
    if not found.message_content:
        lines.append(
            "Discord: the Message Content intent is off; chat is captured without its text"
        )
    ok = True
    for guild_id, missing in found.missing.items():
        if missing:
            ok = False
            lines.append(f"Discord: in server {guild_id} the bot lacks: {', '.join(missing)}")
        else:
            lines.append(f"Discord: server {guild_id}: permissions ok")
    return DiscordCheck(ok=ok, lines=lines)
