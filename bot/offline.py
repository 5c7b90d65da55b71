"""A chat port for commands that run without any chat platform (`warroom postmortem`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.port import Capability, ChannelRef, ChatError, MessageRef, RichMessage, UserRef


class OfflinePort:
    platform = "offline"
    capabilities: frozenset[Capability] = frozenset()

    def _no(self) -> ChatError:
        return ChatError("no chat platform is connected in this command")

    async def create_channel(self, *, name: str, private: bool) -> ChannelRef:
        raise self._no()

    async def find_channel(self, *, name: str) -> ChannelRef | None:
        return None

    async def post_message(self, *, channel_id: str, message: RichMessage) -> MessageRef:
        raise self._no()

    async def update_message(self, *, ref: MessageRef, message: RichMessage) -> None:
        raise self._no()

    async def reply_privately(self, *, channel_id: str, user_id: str, message: RichMessage) -> None:
        raise self._no()

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None:
        raise self._no()

    async def set_topic(self, *, channel_id: str, topic: str) -> None:
        raise self._no()

    async def pin(self, *, ref: MessageRef) -> None:
        raise self._no()

    async def upload_file(
        self, *, channel_id: str, filename: str, content: bytes, title: str
    ) -> None:
        raise self._no()

    async def archive(self, *, channel_id: str) -> None:
        raise self._no()

    async def resolve_user(self, *, ref: str) -> UserRef | None:
        return None

    async def is_member(self, *, channel_id: str, user_id: str) -> bool:
        return False

    async def permalink(self, *, ref: MessageRef) -> str | None:
        return None
