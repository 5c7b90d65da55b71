"""One chat line per timeline entry, with mention tokens for the adapters to render."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bot.domain.timeline import EventKind
from bot.markup import mention


class Described(Protocol):
    at: datetime
    kind: str
    actor_id: str
    actor_name: str
    text: str
    data: dict[str, Any]


def describe(entry: Described) -> str:
    """One line for an entry; mentions are tokens so adapters render real names."""
    who = mention(entry.actor_id) if entry.actor_id else "warroom"
    text, data = entry.text, entry.data
    match entry.kind:
        case EventKind.DECLARED:
            return f"🚨 {who} declared the incident ({data.get('severity')}): {text}"
        case EventKind.CHANNEL_CREATED:
            return f"💬 channel {text} created"
        case EventKind.CARD_POSTED:
            return "🪪 incident card posted"
        case EventKind.INVITED:
            ids = data.get("user_ids") or []
            return "➕ invited " + ", ".join(mention(i) for i in ids)
        case EventKind.ANNOUNCED:
            return f"📢 announced in {text}"
        case EventKind.JOINED:
            return f"👋 {who} joined"
        case EventKind.ROLE:
            role = text.split(":", 1)[0]
            return f"👤 {who} made {mention(str(data.get('user_id')))} {role}"
        case EventKind.SEVERITY:
            return f"{'⬆️' if data.get('escalated') else '⬇️'} {who} changed severity {text}"
        case EventKind.STATUS:
            return f"🔄 {who} changed status {text}"
        case EventKind.TASK_ADDED:
            owner = f" (owner {mention(data['owner_id'])})" if data.get("owner_id") else ""
            return f"☐ {who} added task #{data.get('task')}: {text}{owner}"
        case EventKind.TASK_DONE:
            return f"☑ {who} completed task #{data.get('task')}: {text}"
        case EventKind.CHAT:
            suffix = " _(deleted)_" if data.get("deleted") else ""
            return f"💬 {who}: {text}{suffix}"
        case EventKind.CHAT_EDITED:
            return f"✏️ {who} edited a message: {text}"
        case EventKind.CHAT_DELETED:
            return f"🗑️ {who} deleted a message"
        case EventKind.UPDATE:
            return f"📣 {who} posted an update: {text}"
        case EventKind.NOTE:
            return f"📝 {who}: {text}"
        case EventKind.PINNED:
            return f"📌 {who} marked a key message: {text}"
        case EventKind.UNPINNED:
            return f"📍 {who} unmarked a key message: {text}"
        case EventKind.RESOLVED:
            return f"✅ {who} resolved the incident" + (f": {text}" if text else "")
        case EventKind.REOPENED:
            return f"♻️ {who} reopened the incident"
        case EventKind.EFFECT_FAILED:
            return f"⚠️ {text}"
    return f"{entry.kind.replace('_', ' ')}: {text}"
