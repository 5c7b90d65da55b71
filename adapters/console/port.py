"""The chat port over a console workspace: every capability is supported."""

from __future__ import annotations

import re
from collections.abc import Sequence

from adapters.console.render import render
from adapters.console.workspace import Channel, File, PrivateReply, Workspace
from bot.clock import Clock
from bot.events import MemberJoined
from bot.port import (
    ALL_CAPABILITIES,
    ChannelNameTaken,
    ChannelRef,
    ChatError,
    MessageRef,
    RichMessage,
    UserRef,
)

_MENTION = re.compile(r"^<@!?([^>|]+)(\|[^>]*)?>$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


class ConsolePort:
    platform = "console"
    capabilities = ALL_CAPABILITIES

    def __init__(self, workspace: Workspace, clock: Clock) -> None:
        self.ws = workspace
        self.clock = clock

    def _channel(self, channel_id: str) -> Channel:
        channel = self.ws.channels.get(channel_id)
        if channel is None:
            raise ChatError(f"channel_not_found: {channel_id}")
        if channel.archived:
            raise ChatError(f"is_archived: #{channel.name}")
        return channel

    async def create_channel(self, *, name: str, private: bool) -> ChannelRef:
        if not _NAME.match(name):
            raise ChatError(f"invalid_name: {name!r}")
        if self.ws.channel_by_name(name) is not None:
            raise ChannelNameTaken(name)
        channel = self.ws.add_channel(name, private=private)
        channel.members.add(Workspace.BOT_ID)
        return ChannelRef(id=channel.id, name=channel.name)

    async def find_channel(self, *, name: str) -> ChannelRef | None:
        channel = self.ws.channel_by_name(name)
        return ChannelRef(id=channel.id, name=channel.name) if channel else None

    async def post_message(self, *, channel_id: str, message: RichMessage) -> MessageRef:
        channel = self._channel(channel_id)
        msg = self.ws.add_message(
            channel, Workspace.BOT_ID, render(message, self.ws), self.clock.now(), rich=message
        )
        return MessageRef(channel_id=channel.id, id=msg.id)

    async def update_message(self, *, ref: MessageRef, message: RichMessage) -> None:
        await self.ws.arrive("update_message", ref.id)
        self._channel(ref.channel_id)
        msg = self.ws.message(ref.id)
        if msg is None or msg.channel_id != ref.channel_id:
            raise ChatError(f"message_not_found: {ref.id}")
        msg.rich, msg.text, msg.edited = message, render(message, self.ws), True

    async def reply_privately(self, *, channel_id: str, user_id: str, message: RichMessage) -> None:
        self.ws.add_private(PrivateReply(user_id=user_id, channel_id=channel_id, message=message))

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        channel = self._channel(channel_id)
        for user_id in user_ids:
            if user_id not in self.ws.users:
                raise ChatError(f"user_not_found: {user_id}")
            if user_id in channel.members:
                continue
            channel.members.add(user_id)
            channel.log.append(f"@{self.ws.users[user_id].name} was added by warroom")
            user = self.ws.users[user_id]
            self.ws.pending.append(
                MemberJoined(
                    key=self.ws.next_key(),
                    user=UserRef(user.id, user.name),
                    channel=ChannelRef(channel.id, channel.name),
                    at=self.clock.now(),
                )
            )

    async def set_topic(self, *, channel_id: str, topic: str) -> None:
        await self.ws.arrive("set_topic", channel_id)
        self._channel(channel_id).topic = topic

    async def pin(self, *, ref: MessageRef) -> None:
        msg = self.ws.message(ref.id)
        if msg is None:
            raise ChatError(f"message_not_found: {ref.id}")
        msg.pinned = True

    async def upload_file(
        self, *, channel_id: str, filename: str, content: bytes, title: str
    ) -> None:
        self._channel(channel_id)
        self.ws.files.append(
            File(channel_id=channel_id, filename=filename, title=title, content=content)
        )
        channel = self.ws.channels[channel_id]
        self.ws.add_message(
            channel,
            Workspace.BOT_ID,
            f"📎 {title} ({filename}, {len(content)} bytes)",
            self.clock.now(),
        )

    async def archive(self, *, channel_id: str) -> None:
        self._channel(channel_id).archived = True

    async def resolve_user(self, *, ref: str) -> UserRef | None:
        ref = ref.strip()
        m = _MENTION.match(ref)
        if m:
            user = self.ws.users.get(m.group(1))
        else:
            user = self.ws.users.get(ref) or self.ws.user_by_name(ref)
        if user is None or user.id == Workspace.BOT_ID:
            return None
        return UserRef(id=user.id, name=user.name)

    async def is_member(self, *, channel_id: str, user_id: str) -> bool:
        channel = self.ws.channels.get(channel_id)
        return channel is not None and user_id in channel.members

    async def permalink(self, *, ref: MessageRef) -> str | None:
        msg = self.ws.message(ref.id)
        channel = self.ws.channels.get(ref.channel_id)
        if msg is None or channel is None or msg.channel_id != channel.id:
            return None
        return self.ws.permalink(msg)
