"""`warroom check` for Discord.

Local: the token is set and pasted alone (discord.py adds the `Bot ` prefix itself), and
the server ids look like Discord ids. Network, within WARROOM_CONNECT_TIMEOUT: log in
over REST, read the application's intents and the bot's permissions in each server,
then look the playbooks' announcement channels and people up in each server.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from adapters.discord.server import DiscordNotConfigured, point_at, probe
from bot.check_targets import resolve_targets
from bot.checkup import NoAnswer, Report, answer_within, check_alone
from bot.config import Settings
from bot.playbooks import PlaybookSet
from bot.port import ChannelRef, ChatError, UserRef

SNOWFLAKE = re.compile(r"[0-9]{17,20}")  # every Discord id since 2015
_MENTION = re.compile(r"<@!?([0-9]+)>")


class RestDirectory:
    """Channels and members of one server over REST (the check never opens the gateway)."""

    def __init__(self, client: discord.Client, guild_id: int) -> None:
        self.client = client
        self.guild_id = guild_id
        self._channels: list[Any] | None = None

    async def find_channel(self, *, name: str) -> ChannelRef | None:
        try:
            if self._channels is None:
                guild = await self.client.fetch_guild(self.guild_id)
                self._channels = list(await guild.fetch_channels())
        except discord.HTTPException as exc:
            raise ChatError(f"could not list the channels: {exc.status} {exc.text}") from None
        wanted = name.lstrip("#")
        for channel in self._channels:
            if isinstance(channel, discord.TextChannel) and channel.name == wanted:
                return ChannelRef(str(channel.id), channel.name)
        return None

    async def resolve_user(self, *, ref: str) -> UserRef | None:
        text = ref.strip()
        mention = _MENTION.fullmatch(text)
        digits = mention.group(1) if mention else text
        try:
            if digits.isdecimal():
                guild = await self.client.fetch_guild(self.guild_id)
                member = await guild.fetch_member(int(digits))
                return UserRef(str(member.id), member.display_name)
            return await self._search(text.removeprefix("@"))
        except discord.NotFound:
            return None
        except discord.HTTPException as exc:
            raise ChatError(f"could not look up {ref}: {exc.status} {exc.text}") from None

    async def _search(self, name: str) -> UserRef | None:
        """Search Guild Members (REST), matched like the port matches a name."""
        if not name:
            return None
        route = discord.http.Route(
            "GET", "/guilds/{guild_id}/members/search", guild_id=self.guild_id
        )
        found = await self.client.http.request(route, params={"query": name, "limit": 10})
        wanted = name.casefold()
        for member in found:
            user = member.get("user") or {}
            names = (user.get("username"), user.get("global_name"), member.get("nick"))
            if wanted in (str(n).casefold() for n in names if n):
                return UserRef(str(user.get("id", "")), str(user.get("username", "")))
        return None


class DiscordCheck:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def local(self, report: Report) -> bool:
        s = self.settings
        secret = s.discord_token.get_secret_value() if s.discord_token is not None else ""
        ok = True
        if secret.strip().lower().startswith("bot "):
            ok = False
            report.problem(
                "Discord: WARROOM_DISCORD_TOKEN starts with `Bot `; give the token alone "
                "(warroom adds the prefix)"
            )
        elif not secret.strip() or any(c.isspace() for c in secret.strip()):
            ok = False
            report.problem(
                "Discord: WARROOM_DISCORD_TOKEN is empty or has spaces inside; copy the bot "
                "token from the Developer Portal (Bot page, Reset Token)"
            )
        ids = [p.strip() for p in s.discord_guild_ids.split(",") if p.strip()]
        if not ids:
            ok = False
            report.problem(
                "Discord: WARROOM_DISCORD_GUILD_IDS is not set: give the id of the server "
                "(guild) that holds incident channels (Developer Mode, right-click the "
                "server, Copy Server ID)"
            )
        for bad in (i for i in ids if not SNOWFLAKE.fullmatch(i)):
            ok = False
            report.problem(
                f"Discord: WARROOM_DISCORD_GUILD_IDS: `{bad}` is not a server id (those are "
                "17 to 20 digits: Developer Mode, right-click the server, Copy Server ID)"
            )
        return ok

    async def network(self, report: Report, playbooks: PlaybookSet | None) -> None:
        s = self.settings
        point_at(s)
        announce = s.discord_announce_channel or s.announce_channel
        checked = Report()

        async def look_up(client: discord.Client) -> None:
            if playbooks is None:
                return
            for guild_id in s.discord_guilds:
                await resolve_targets(
                    RestDirectory(client, guild_id),
                    where=f"Discord: server {guild_id}",
                    playbooks=playbooks,
                    announce_channel=announce,
                    report=checked,
                    seconds=s.connect_timeout,
                )

        # The login within the timeout; the permissions and look-ups after it within a
        # bound for all of them, so a server that stops answering halfway is named too.
        steps = 3 + len(s.discord_guilds) * 2
        try:
            async with answer_within(f"Discord at {s.discord_api_url}", s.connect_timeout * steps):
                found = await probe(
                    s, permissions=True, visit=look_up, login_within=s.connect_timeout
                )
        except (DiscordNotConfigured, NoAnswer) as exc:
            report.problem(f"Discord: {exc}")
            return
        report.ok(f"Discord: logged in as {found.user}")
        if not found.message_content:
            report.warn(
                "Discord: the Message Content intent is off; chat is captured without its text"
            )
        for guild_id, missing in found.missing.items():
            if missing:
                report.problem(f"Discord: in server {guild_id} the bot lacks: {', '.join(missing)}")
            else:
                report.ok(f"Discord: server {guild_id}: permissions ok")
        report.findings.extend(checked.findings)


async def check(settings: Settings, playbooks: PlaybookSet | None = None) -> Report:
    """The Discord part of `warroom check`, on its own."""
    return await check_alone(DiscordCheck(settings), playbooks)
