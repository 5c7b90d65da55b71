"""Typed timeline events."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    DECLARED = "declared"
    CHANNEL_CREATED = "channel_created"
    CARD_POSTED = "card_posted"
    ANNOUNCED = "announced"
    SEVERITY = "severity"
    STATUS = "status"
    ROLE = "role"
    UPDATE = "update"
    NOTE = "note"
    CHAT = "chat"
    CHAT_EDITED = "chat_edited"
    CHAT_DELETED = "chat_deleted"
    PINNED = "pinned"
    UNPINNED = "unpinned"
    TASK_ADDED = "task_added"
    TASK_DONE = "task_done"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    JOINED = "joined"
    INVITED = "invited"
    ALERT = "alert"
    EFFECT_FAILED = "effect_failed"
    REMINDER = "reminder"
    SUMMARY = "summary"
    CHECKLIST_DUE = "checklist_due"
    SNOOZED = "snoozed"
    COMMS = "comms"
    POSTMORTEM = "postmortem"


# Events that stand out in summaries and postmortems.
KEY_KINDS = frozenset(
    {
        EventKind.DECLARED,
        EventKind.SEVERITY,
        EventKind.STATUS,
        EventKind.ROLE,
        EventKind.UPDATE,
        EventKind.PINNED,
        EventKind.RESOLVED,
        EventKind.REOPENED,
        EventKind.ALERT,
    }
)
