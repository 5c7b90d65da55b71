"""The chat port over a discord.Client (REST through discord.py, which also keeps to
Discord's rate limits: nothing here retries or sleeps on its own).

- Channels are text channels under the category named by WARROOM_DISCORD_CATEGORY
  (created if missing). Discord allows duplicate channel names, so `create_channel`
  checks the guild's channels and raises `ChannelNameTaken` itself.
- Which guild: the one the command or event came from. The bridge sets `acting_in` while
  it handles an interaction or gateway event from a configured guild (tasks started
  meanwhile inherit it); `create_channel`, `find_channel` (the announcement channel) and
  `resolve_user` use it, else the first configured guild. Calls about an existing
  channel (invite, archive, is_member, permalink) use that channel's own guild.
- Private channels hide from @everyone with a permission overwrite; the bot and invitees
  get their own overwrites. `invite` adds such an overwrite (harmless on public channels).
- `archive` moves the channel into "<category>-archive" (created if missing) and takes
  Send Messages and Add Reactions away from @everyone: read-only, still searchable.
  Discord has no archive, and a category holds at most 50 channels.
- `reply_privately` sends a DM: interactions are answered ephemerally in `app.py`.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Awaitable, Iterator, Sequence
from contextvars import ContextVar
from typing import TypeVar

import aiohttp
import discord

from adapters.discord import render
from bot.port import (
    ALL_CAPABILITIES,
    ChannelNameTaken,
    ChannelRef,
    ChatError,
    MessageRef,
    RichMessage,
    UserRef,
)

T = TypeVar("T")

_USER_MENTION = re.compile(r"<@!?(\d+)>")
# The guild of the interaction or gateway event being handled (set by `acting_in`).
_GUILD: ContextVar[int | None] = ContextVar("warroom_discord_guild", default=None)
_ALLOWED = discord.PermissionOverwrite(
    view_channel=True, send_messages=True, read_message_history=True, add_reactions=True
)


def chat_error(exc: Exception) -> ChatError:
    if isinstance(exc, discord.HTTPException):
        retryable = exc.status >= 500 or exc.status == 429
        return ChatError(f"Discord {exc.status}: {exc.text or exc}", retryable=retryable)
    return ChatError(f"Discord unreachable: {type(exc).__name__}: {exc}", retryable=True)


async def call(work: Awaitable[T]) -> T:
    """Await a discord.py call; its failures become `ChatError`."""
    try:
        return await work
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        raise chat_error(exc) from exc


class DiscordPort:
    platform = "discord"
    capabilities = ALL_CAPABILITIES

    def __init__(
        self,
        client: discord.Client,
        *,
        guild_id: int,
        category: str,
        guild_ids: Sequence[int] = (),
    ) -> None:
        self.client = client
        self.guild_id = guild_id  # the first configured guild: the fallback
        self.guild_ids = frozenset(guild_ids or ([guild_id] if guild_id else []))
        self.category = category

    # --- which guild -----------------------------------------------------------------

    @contextlib.contextmanager
    def acting_in(self, guild_id: int | None) -> Iterator[None]:
        """Work done inside (and tasks started inside) is about `guild_id`, when it is a
        configured guild; otherwise the first configured guild is used."""
        token = _GUILD.set(guild_id if guild_id in self.guild_ids else None)
        try:
            yield
        finally:
            _GUILD.reset(token)

    @property
    def current_guild_id(self) -> int:
        return _GUILD.get() or self.guild_id

    # --- lookups ---------------------------------------------------------------------

    async def guild(self) -> discord.Guild:
        guild_id = self.current_guild_id
        cached = self.client.get_guild(guild_id)
        return cached if cached is not None else await call(self.client.fetch_guild(guild_id))

    async def text_channel(self, channel_id: str) -> discord.TextChannel:
        if not channel_id.isdecimal():
            raise ChatError(f"not a Discord channel id: {channel_id!r}")
        channel = self.client.get_channel(int(channel_id))
        if channel is None:
            channel = await call(self.client.fetch_channel(int(channel_id)))
        if not isinstance(channel, discord.TextChannel):
            raise ChatError(f"channel {channel_id} is not a text channel")
        return channel

    async def member(self, guild: discord.Guild, user_id: int) -> discord.Member | None:
        found = guild.get_member(user_id)
        if found is not None:
            return found
        try:
            return await guild.fetch_member(user_id)
        except discord.NotFound:
            return None
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise chat_error(exc) from exc

    async def _category(self, guild: discord.Guild, name: str) -> discord.CategoryChannel:
        channels = guild.channels or await call(guild.fetch_channels())
        for channel in channels:
            if isinstance(channel, discord.CategoryChannel) and channel.name == name:
                return channel
        return await call(guild.create_category(name, reason="warroom incident channels"))

    def _message(self, channel: discord.TextChannel, ref: MessageRef) -> discord.PartialMessage:
        if not ref.id.isdecimal():
            raise ChatError(f"not a Discord message id: {ref.id!r}")
        return channel.get_partial_message(int(ref.id))

    # --- the port --------------------------------------------------------------------

    async def create_channel(self, *, name: str, private: bool) -> ChannelRef:
        guild = await self.guild()
        channels = guild.channels or await call(guild.fetch_channels())
        if any(isinstance(c, discord.TextChannel) and c.name == name for c in channels):
            raise ChannelNameTaken(name)
        category = await self._category(guild, self.category) if self.category else None
        overwrites: dict[
            discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite
        ] = {}
        if private:
            me = discord.Object(self.client.user.id) if self.client.user else None
            overwrites[guild.default_role] = discord.PermissionOverwrite(view_channel=False)
            if me is not None:
                overwrites[me] = discord.PermissionOverwrite(
                    view_channel=True,
                    send_messages=True,
                    manage_channels=True,
                    manage_messages=True,
                    embed_links=True,
                    attach_files=True,
                    read_message_history=True,
                    add_reactions=True,
                )
        channel = await call(
            guild.create_text_channel(
                name, category=category, overwrites=overwrites, reason="warroom: incident"
            )
        )
        return ChannelRef(str(channel.id), channel.name)

    async def find_channel(self, *, name: str) -> ChannelRef | None:
        guild = await self.guild()
        wanted = name.lstrip("#")
        for channel in guild.channels or await call(guild.fetch_channels()):
            if isinstance(channel, discord.TextChannel) and channel.name == wanted:
                return ChannelRef(str(channel.id), channel.name)
        return None

    async def post_message(self, *, channel_id: str, message: RichMessage) -> MessageRef:
        channel = await self.text_channel(channel_id)
        sent = await call(channel.send(**render.render(message).send_kwargs()))
        return MessageRef(str(channel.id), str(sent.id))

    async def update_message(self, *, ref: MessageRef, message: RichMessage) -> None:
        channel = await self.text_channel(ref.channel_id)
        await call(self._message(channel, ref).edit(**render.render(message).edit_kwargs()))

    async def reply_privately(self, *, channel_id: str, user_id: str, message: RichMessage) -> None:
        if not user_id.isdecimal():
            raise ChatError(f"not a Discord user id: {user_id!r}")
        target = self.client.get_user(int(user_id))
        if target is None:
            target = await call(self.client.fetch_user(int(user_id)))
        await call(target.send(**render.render(message).send_kwargs()))

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        channel = await self.text_channel(channel_id)
        for user_id in user_ids:
            member = await self.member(channel.guild, int(user_id)) if user_id.isdecimal() else None
            if member is not None:
                await call(channel.set_permissions(member, overwrite=_ALLOWED, reason="warroom"))

    async def set_topic(self, *, channel_id: str, topic: str) -> None:
        channel = await self.text_channel(channel_id)
        await call(channel.edit(topic=render.topic(topic)))

    async def pin(self, *, ref: MessageRef) -> None:
        channel = await self.text_channel(ref.channel_id)
        await call(self._message(channel, ref).pin(reason="warroom: incident card"))

    async def upload_file(
        self, *, channel_id: str, filename: str, content: bytes, title: str
    ) -> None:
        channel = await self.text_channel(channel_id)
        await call(
            channel.send(
                content=render.cut(render.plain(title), render.CONTENT_LIMIT) or None,
                file=discord.File(io.BytesIO(content), filename=filename),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        )

    async def archive(self, *, channel_id: str) -> None:
        channel = await self.text_channel(channel_id)
        guild = channel.guild
        archive = await self._category(guild, f"{self.category or 'incidents'}-archive")
        overwrites = dict(channel.overwrites)
        everyone = overwrites.get(guild.default_role, discord.PermissionOverwrite())
        everyone.update(send_messages=False, add_reactions=False)
        overwrites[guild.default_role] = everyone
        await call(
            channel.edit(category=archive, overwrites=overwrites, reason="warroom: archived")
        )

    async def resolve_user(self, *, ref: str) -> UserRef | None:
        text = ref.strip()
        match = _USER_MENTION.fullmatch(text)
        digits = match.group(1) if match else text
        guild = await self.guild()
        if digits.isdecimal():
            found = await self.member(guild, int(digits))
            return UserRef(str(found.id), found.display_name) if found else None
        name = text.removeprefix("@")
        if not name:
            return None
        named = guild.get_member_named(name)
        if named is None:
            results = await call(guild.query_members(query=name, limit=10))
            lowered = name.casefold()
            named = next(
                (m for m in results if lowered in (m.name.casefold(), m.display_name.casefold())),
                None,
            )
        return UserRef(str(named.id), named.display_name) if named else None

    async def is_member(self, *, channel_id: str, user_id: str) -> bool:
        if not user_id.isdecimal():
            return False
        channel = await self.text_channel(channel_id)
        member = await self.member(channel.guild, int(user_id))
        return member is not None and channel.permissions_for(member).view_channel

    async def permalink(self, *, ref: MessageRef) -> str | None:
        """The message's jump URL, in its channel's guild."""
        if not (ref.channel_id.isdecimal() and ref.id.isdecimal()):
            return None
        channel = self.client.get_channel(int(ref.channel_id))
        if channel is None:
            channel = await call(self.client.fetch_channel(int(ref.channel_id)))
        guild = getattr(channel, "guild", None)
        guild_id = guild.id if isinstance(guild, discord.Guild) else self.current_guild_id
        return f"https://discord.com/channels/{guild_id}/{ref.channel_id}/{ref.id}"
