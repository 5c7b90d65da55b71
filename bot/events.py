"""Neutral inbound events. Adapters translate platform payloads into these.

Every event carries an idempotency `key` (Slack event_id, Discord interaction or message
id, a console sequence number) so a redelivered event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.alerts.model import Alert
from bot.port import ChannelRef, MessageRef, UserRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    key: str
    user: UserRef
    channel: ChannelRef
    at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked(Inbound):
    """`/incident <text>`: `text` is everything after the command name."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPressed(Inbound):
    action_id: str
    value: str = ""
    message: MessageRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModalSubmitted(Inbound):
    modal_id: str
    values: dict[str, str] = field(default_factory=dict)
    metadata: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted(Inbound):
    message: MessageRef
    text: str
    thread_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdited(Inbound):
    message: MessageRef
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDeleted(Inbound):
    message: MessageRef


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionAdded(Inbound):
    message: MessageRef
    emoji: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionRemoved(Inbound):
    message: MessageRef
    emoji: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Inbound):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsReceived(Inbound):
    """One delivery from a monitoring source (a webhook request): `user` names the source.

    Its `key` identifies the delivery for logs only; alerts are deduplicated by their own
    keys, so a redelivered webhook counts as a repeat and opens nothing new."""

    source: str
    alerts: tuple[Alert, ...]


InboundEvent = (
    CommandInvoked
    | ButtonPressed
    | ModalSubmitted
    | MessagePosted
    | MessageEdited
    | MessageDeleted
    | ReactionAdded
    | ReactionRemoved
    | MemberJoined
    | AlertsReceived
)
