"""The chat port: the complete contract between the core and a chat platform.

The core calls nothing on a platform except what `ChatPort` declares. Each adapter
implements every method; where a platform cannot do something it leaves that
`Capability` out of `capabilities`, and the core checks the set before calling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.alerts.model import IntakeReport


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person on the platform. `name` is a display name for transcripts and timelines."""

    id: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class ChannelRef:
    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class MessageRef:
    channel_id: str
    id: str


@dataclass(frozen=True, slots=True)
class Field:
    title: str
    value: str
    short: bool = True


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True, slots=True)
class RichMessage:
    """A platform-neutral message.

    `text` is light markdown (`**bold**`, `_italic_`, `` `code` ``, lists). Text that users
    typed is carried verbatim; adapters escape it at their boundary. Intended mentions are
    tokens made by `bot.markup.mention`, which adapters turn into real pings.
    """

    text: str
    header: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    context: str = ""
    colour: str = ""

    def plain(self) -> str:
        """All visible text, joined: handy for logs and assertions."""
        parts = [self.header, self.text]
        parts += [f"{f.title}: {f.value}" for f in self.fields]
        parts += [b.label for b in self.buttons]
        parts.append(self.context)
        return "\n".join(p for p in parts if p)


class Capability(StrEnum):
    PRIVATE_CHANNELS = "private_channels"
    TOPIC = "topic"
    PIN = "pin"
    FILES = "files"
    ARCHIVE = "archive"
    INVITE = "invite"
    UPDATE_MESSAGE = "update_message"


ALL_CAPABILITIES = frozenset(Capability)


class ChannelNameTaken(Exception):
    """Raised by `create_channel` when the name is in use; the core retries with a suffix."""

    def __init__(self, name: str) -> None:
        super().__init__(f"channel name taken: {name}")
        self.name = name


class ChatError(Exception):
    """A platform call failed. `retryable` tells the effect runner whether to try again."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@runtime_checkable
class ChatPort(Protocol):
    """What every chat platform offers the core."""

    platform: str
    capabilities: frozenset[Capability]

    async def create_channel(self, *, name: str, private: bool) -> ChannelRef:
        """Create a channel. Raise `ChannelNameTaken` if the name is in use."""
        ...

    async def find_channel(self, *, name: str) -> ChannelRef | None:
        """Look a channel up by name (announcement channels are configured by name)."""
        ...

    async def post_message(self, *, channel_id: str, message: RichMessage) -> MessageRef: ...

    async def update_message(self, *, ref: MessageRef, message: RichMessage) -> None: ...

    async def reply_privately(self, *, channel_id: str, user_id: str, message: RichMessage) -> None:
        """Show a message to one user only (Slack ephemeral, Discord ephemeral/DM)."""
        ...

    async def invite(self, *, channel_id: str, user_ids: Sequence[str]) -> None: ...

    async def set_topic(self, *, channel_id: str, topic: str) -> None: ...

    async def pin(self, *, ref: MessageRef) -> None: ...

    async def upload_file(
        self, *, channel_id: str, filename: str, content: bytes, title: str
    ) -> None: ...

    async def archive(self, *, channel_id: str) -> None: ...

    async def resolve_user(self, *, ref: str) -> UserRef | None:
        """Turn a user id, a mention or a name into a `UserRef`, or None if unknown."""
        ...

    async def is_member(self, *, channel_id: str, user_id: str) -> bool:
        """Is the user in the channel now? (Reactions count only from members.)"""
        ...

    async def permalink(self, *, ref: MessageRef) -> str | None:
        """A link that opens the message, or None where the platform has none."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What `Bot.handle` returns to the adapter that delivered the event.

    `reply` is shown privately to the sender (ephemeral). `duplicate` is True when the
    event's idempotency key was already handled, in which case nothing changed.
    """

    reply: RichMessage | None = None
    duplicate: bool = False
    incident_number: int | None = None
    # Set when the adapter should open a form instead ("declare", "update", "resolve").
    modal: str = ""
    modal_context: dict[str, str] = field(default_factory=dict)
    # Alert intake: what became of the delivery's alerts (the webhook's answer).
    report: IntakeReport | None = None
