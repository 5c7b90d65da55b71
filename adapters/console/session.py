"""Acting as a person in the console workspace: type, react, press buttons, join.

This is the console's translate step (typed text -> neutral inbound events) and the
driver that the REPL, the demo and the scenario tests share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from adapters.console.render import render
from adapters.console.workspace import Channel, Message, PrivateReply, User, Workspace
from bot.clock import Clock
from bot.domain.suggest import closest
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    MemberJoined,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.failures import Failure
from bot.port import ChannelRef, MessageRef, Outcome, RichMessage, UserRef

Handle = Callable[[InboundEvent], Awaitable[Outcome]]
Apology = Callable[[Failure], RichMessage]


class ConsoleError(Exception):
    """Something the console itself cannot do (no such channel, message or button),
    worded for the person at the keyboard."""


MODAL_HINTS = {
    "update": "Type `/{command} update <text>` to post an update.",
    "resolve": "Type `/{command} resolve [summary]` to resolve.",
    "declare": "Type `/{command} declare [SEVn] <title>` to declare.",
}


class ConsoleSession:
    def __init__(
        self,
        workspace: Workspace,
        handle: Handle,
        clock: Clock,
        *,
        apology: Apology,
        command: str = "incident",
    ) -> None:
        self.ws = workspace
        self.handle = handle
        # How an unexpected failure is shown (the core's apology.j2, through `Bot`).
        self.apology = apology
        self.clock = clock
        self.command = command
        self.user: User = workspace.add_user("you")
        general = workspace.channel_by_name("general") or workspace.add_channel(
            "general", channel_id=Workspace.standing_id("general")
        )
        self.channel: Channel = general

    # --- who and where ----------------------------------------------------------------

    def as_user(self, name: str) -> User:
        self.user = self.ws.add_user(name)
        return self.user

    def go(self, name: str) -> Channel:
        channel = self.ws.channel_by_name(name)
        if channel is None:
            raise ConsoleError(f"no channel #{name.lstrip('#')}")
        self.channel = channel
        return channel

    def _refs(self) -> tuple[UserRef, ChannelRef]:
        return UserRef(self.user.id, self.user.name), ChannelRef(self.channel.id, self.channel.name)

    # --- acting -----------------------------------------------------------------------

    async def send(self, text: str) -> Outcome:
        """Type a line: `/incident …` runs a command, anything else is a chat message."""
        user, channel = self._refs()
        prefix = f"/{self.command}"
        typo = self._mistyped(text)
        if typo:
            reply = RichMessage(
                text=f"⚠️ `/{typo}` is not a command. Did you mean `{prefix}`? Nothing was posted."
            )
            self.ws.add_private(PrivateReply(user.id, channel.id, reply))
            return Outcome(reply=reply)
        if text == prefix or text.startswith(prefix + " "):
            event: InboundEvent = CommandInvoked(
                key=self.ws.next_key(),
                user=user,
                channel=channel,
                at=self.clock.now(),
                text=text[len(prefix) :].strip(),
            )
        else:
            self.channel.members.add(self.user.id)
            msg = self.ws.add_message(self.channel, self.user.id, text, self.clock.now())
            event = MessagePosted(
                key=self.ws.next_key(),
                user=user,
                channel=channel,
                at=msg.at,
                message=MessageRef(channel.id, msg.id),
                text=text,
            )
        return await self.deliver(event)

    def _mistyped(self, text: str) -> str:
        """The word after "/" when it is not the command but close to it (`/incdent`),
        else "": such a line is a command gone wrong, not a chat message."""
        if not text.startswith("/"):
            return ""
        word = text[1:].split(maxsplit=1)[0] if text[1:].strip() else ""
        if not word or word == self.command or len(word) > 2 * len(self.command):
            return ""
        return word if closest(word, [self.command]) else ""

    async def edit(self, message_id: str, text: str) -> Outcome:
        msg = self._own_message(message_id)
        msg.text, msg.edited = text, True
        user, _channel = self._refs()
        return await self.deliver(
            MessageEdited(
                key=self.ws.next_key(),
                user=user,
                channel=ChannelRef(msg.channel_id),
                at=self.clock.now(),
                message=MessageRef(msg.channel_id, msg.id),
                text=text,
            )
        )

    async def delete(self, message_id: str) -> Outcome:
        msg = self._own_message(message_id)
        msg.deleted = True
        user, _ = self._refs()
        return await self.deliver(
            MessageDeleted(
                key=self.ws.next_key(),
                user=user,
                channel=ChannelRef(msg.channel_id),
                at=self.clock.now(),
                message=MessageRef(msg.channel_id, msg.id),
            )
        )

    async def react(self, emoji: str, message_id: str, *, remove: bool = False) -> Outcome:
        msg = self.ws.message(message_id)
        if msg is None:
            raise ConsoleError(f"no message {message_id}")
        emoji = emoji.strip(":")
        users = msg.reactions.setdefault(emoji, set())
        (users.discard if remove else users.add)(self.user.id)
        user, _ = self._refs()
        kind = ReactionRemoved if remove else ReactionAdded
        return await self.deliver(
            kind(
                key=self.ws.next_key(),
                user=user,
                channel=ChannelRef(msg.channel_id),
                at=self.clock.now(),
                message=MessageRef(msg.channel_id, msg.id),
                emoji=emoji,
            )
        )

    async def press(self, message_id: str, label: str) -> Outcome:
        msg = self.ws.message(message_id)
        button = next(
            (
                b
                for b in (msg.rich.buttons if msg and msg.rich else ())
                if b.label.lower() == label.lower()
            ),
            None,
        )
        if msg is None or button is None:
            raise ConsoleError(f"no button {label!r} on message {message_id}")
        user, _ = self._refs()
        return await self.deliver(
            ButtonPressed(
                key=self.ws.next_key(),
                user=user,
                channel=ChannelRef(msg.channel_id),
                at=self.clock.now(),
                action_id=button.action_id,
                value=button.value,
                message=MessageRef(msg.channel_id, msg.id),
            )
        )

    async def join(self, name: str) -> Outcome:
        channel = self.go(name)
        if self.user.id in channel.members:
            return Outcome()
        channel.members.add(self.user.id)
        channel.log.append(f"@{self.user.name} joined")
        user, ref = self._refs()
        return await self.deliver(
            MemberJoined(key=self.ws.next_key(), user=user, channel=ref, at=self.clock.now())
        )

    async def deliver(self, event: InboundEvent) -> Outcome:
        """Hand an event to the bot, show its private reply, then deliver what it caused."""
        outcome = await self.handle(event)
        reply = outcome.reply
        if outcome.modal:
            reply = RichMessage(text=MODAL_HINTS[outcome.modal].format(command=self.command))
        if reply is not None:
            self.ws.add_private(PrivateReply(event.user.id, event.channel.id, reply))
        while self.ws.pending:
            await self.handle(self.ws.pending.pop(0))
        return outcome

    def _own_message(self, message_id: str) -> Message:
        msg = self.ws.message(message_id)
        if msg is None or msg.author_id != self.user.id:
            raise ConsoleError(f"no message {message_id} of yours")
        return msg

    # --- reading ----------------------------------------------------------------------

    def render_reply(self, outcome: Outcome) -> str:
        return render(outcome.reply, self.ws) if outcome.reply else ""

    def transcript(self, name: str) -> str:
        channel = self.ws.channel_by_name(name)
        if channel is None:
            raise ConsoleError(f"no channel #{name}")
        flags = " 🔒" if channel.private else ""
        flags += " (archived)" if channel.archived else ""
        lines = [f"#{channel.name}{flags}"]
        if channel.topic:
            lines.append(f"  topic: {channel.topic}")
        for note in channel.log:
            lines.append(f"  · {note}")
        for msg in channel.messages:
            author = self.ws.users.get(msg.author_id)
            pin = " 📌" if msg.pinned else ""
            tag = " (deleted)" if msg.deleted else (" (edited)" if msg.edited else "")
            head = f"[{msg.id}] {msg.at:%H:%M} {author.name if author else msg.author_id}{pin}{tag}"
            body = msg.text.splitlines() or [""]
            lines.append(f"  {head}: {body[0]}")
            lines.extend(f"      {line}" for line in body[1:])
            if msg.reactions:
                lines.append(
                    "      " + " ".join(f"{e}×{len(u)}" for e, u in msg.reactions.items() if u)
                )
        return "\n".join(lines)
