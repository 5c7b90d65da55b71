"""An in-memory chat workspace: users, channels, messages, reactions, private replies.

The workspace is forgotten when the console stops, but the database keeps the ids it
handed out (incident channels, cards, announcements, chat messages). A new workspace on
that database is told those ids (`reserve`) and never hands the same one out again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.events import InboundEvent
from bot.port import RichMessage


@dataclass
class User:
    id: str
    name: str


@dataclass
class Message:
    id: str
    channel_id: str
    author_id: str
    text: str
    at: datetime
    rich: RichMessage | None = None
    reactions: dict[str, set[str]] = field(default_factory=dict)
    pinned: bool = False
    edited: bool = False
    deleted: bool = False


@dataclass
class Channel:
    id: str
    name: str
    private: bool = False
    topic: str = ""
    archived: bool = False
    members: set[str] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # membership and topic notices, in order


@dataclass
class PrivateReply:
    user_id: str
    channel_id: str
    message: RichMessage


@dataclass
class File:
    channel_id: str
    filename: str
    title: str
    content: bytes


_COUNTED = re.compile(r"^([Cm])(\d+)$")  # ids the workspace counts out: C12, m34


class Workspace:
    """The state of one console chat workspace.

    Ids: incident channels `C001`, `C002`, …; the standing channels (general, the
    announcement channels) `C-<name>`, the same in every run; messages `m1`, `m2`, …;
    event keys `console:<random session>:<n>`. Counted ids continue after every id given
    to `reserve`."""

    BOT_ID = "UWARROOM"

    def __init__(self) -> None:
        self.session = secrets.token_hex(8)
        self.users: dict[str, User] = {self.BOT_ID: User(self.BOT_ID, "warroom")}
        self.channels: dict[str, Channel] = {}
        self.private: list[PrivateReply] = []
        # Messages and private replies in the order they appeared, for the REPL to print.
        self.feed: list[Message | PrivateReply] = []
        self.files: list[File] = []
        self.pending: list[InboundEvent] = []  # events the platform emits (joins, …)
        self._seq = 0
        self._channel_seq = 0
        self._messages: dict[str, Message] = {}

    # --- ids --------------------------------------------------------------------------

    def reserve(self, ids: Iterable[str | None]) -> None:
        """Ids already handed out (by an earlier workspace): new ones come after them."""
        for given in ids:
            m = _COUNTED.match(given or "")
            if m is None:
                continue
            if m.group(1) == "C":
                self._channel_seq = max(self._channel_seq, int(m.group(2)))
            else:
                self._seq = max(self._seq, int(m.group(2)))

    @staticmethod
    def standing_id(name: str) -> str:
        """The id of a standing channel: the same in every run, never a counted one."""
        return f"C-{name.lstrip('#').lower()}"

    async def arrive(self, method: str, target: str) -> None:
        """Each update and topic call comes here before it takes effect; `target` is the
        message or channel id. Nothing waits here, but a test's workspace may hold a call,
        as a slow network holds a request, to make calls land in another order."""

    def next_key(self) -> str:
        self._seq += 1
        return f"console:{self.session}:{self._seq}"

    def _message_id(self) -> str:
        self._seq += 1
        return f"m{self._seq}"

    # --- people and places ------------------------------------------------------------

    def add_user(self, name: str) -> User:
        name = name.lstrip("@")
        existing = self.user_by_name(name)
        if existing:
            return existing
        user = User(id=f"U{name.upper()}", name=name)
        self.users[user.id] = user
        return user

    def user_by_name(self, name: str) -> User | None:
        name = name.lstrip("@").lower()
        return next((u for u in self.users.values() if u.name.lower() == name), None)

    def add_channel(self, name: str, *, private: bool = False, channel_id: str = "") -> Channel:
        if not channel_id:
            self._channel_seq += 1
            channel_id = f"C{self._channel_seq:03d}"
        else:
            self.reserve([channel_id])
        channel = Channel(id=channel_id, name=name.lstrip("#"), private=private)
        self.channels[channel.id] = channel
        return channel

    def channel_by_name(self, name: str) -> Channel | None:
        name = name.lstrip("#").lower()
        return next((c for c in self.channels.values() if c.name == name), None)

    def message(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    # --- content ----------------------------------------------------------------------

    def add_message(
        self,
        channel: Channel,
        author_id: str,
        text: str,
        at: datetime,
        rich: RichMessage | None = None,
        message_id: str = "",
    ) -> Message:
        self.reserve([message_id])  # a restored id: new ids must come after it
        msg = Message(
            id=message_id or self._message_id(),
            channel_id=channel.id,
            author_id=author_id,
            text=text,
            at=at,
            rich=rich,
        )
        channel.messages.append(msg)
        self._messages[msg.id] = msg
        self.feed.append(msg)
        return msg

    def add_private(self, reply: PrivateReply) -> None:
        self.private.append(reply)
        self.feed.append(reply)

    def private_for(self, user_id: str) -> list[RichMessage]:
        return [p.message for p in self.private if p.user_id == user_id]

    def permalink(self, message: Message) -> str:
        """`console://<channel name>/<message id>`: the console's link to a message."""
        channel = self.channels[message.channel_id]
        return f"console://{channel.name}/{message.id}"
