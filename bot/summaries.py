"""Channel summaries: what the incident looks like now and what changed since last time.

The default `ExtractiveSummarizer` is deterministic and needs no network: it picks the
facts out of the timeline. `Summarizer` is the seam for an optional language-model
backend later; the rest of warroom only sees `Summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.describe import describe
from bot.domain.timeline import EventKind
from bot.markup import mention
from bot.views import IncidentView

# What a summary reports as "changed since the last one".
CHANGE_KINDS = frozenset(
    {EventKind.STATUS, EventKind.SEVERITY, EventKind.ROLE, EventKind.RESOLVED, EventKind.REOPENED}
)
# Entries that do not count as activity (the bot's own rhythm).
QUIET_KINDS = frozenset(
    {
        EventKind.JOINED,
        EventKind.REMINDER,
        EventKind.SUMMARY,
        EventKind.CHECKLIST_DUE,
        EventKind.EFFECT_FAILED,
        EventKind.INVITED,
        EventKind.CARD_POSTED,
    }
)


class TimelineItem(Protocol):
    id: int | None
    at: datetime
    kind: str
    actor_id: str
    actor_name: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Summary:
    changes: list[str] = field(default_factory=list)
    key_messages: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    tasks_opened: list[str] = field(default_factory=list)
    tasks_closed: list[str] = field(default_factory=list)
    message_count: int = 0
    active: list[str] = field(default_factory=list)  # user ids, most active first

    @property
    def empty(self) -> bool:
        return not (
            self.changes
            or self.key_messages
            or self.alerts
            or self.tasks_opened
            or self.tasks_closed
            or self.message_count
        )


class Summarizer(Protocol):
    def summarize(self, *, view: IncidentView, entries: Sequence[TimelineItem]) -> Summary:
        """Summarise `entries` (the timeline since the last summary) for `view`."""
        ...


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ExtractiveSummarizer:
    def summarize(self, *, view: IncidentView, entries: Sequence[TimelineItem]) -> Summary:
        changes: list[str] = []
        key_messages: list[str] = []
        alerts: list[str] = []
        opened: list[str] = []
        closed: list[str] = []
        counts: dict[str, int] = {}
        messages = 0
        for e in entries:
            match e.kind:
                case kind if kind in CHANGE_KINDS:
                    changes.append(describe(e))
                case EventKind.PINNED:
                    author = e.data.get("author_id")
                    by = f"{mention(author)}: " if author else ""
                    key_messages.append(f"{by}{_short(e.text)}")
                case EventKind.ALERT:
                    alerts.append(_short(e.text))
                case EventKind.TASK_ADDED:
                    opened.append(f"#{e.data.get('task')} {_short(e.text)}")
                case EventKind.TASK_DONE:
                    closed.append(f"#{e.data.get('task')} {_short(e.text)}")
                case EventKind.CHAT:
                    messages += 1
            if e.kind not in QUIET_KINDS and e.actor_id:
                counts[e.actor_id] = counts.get(e.actor_id, 0) + 1
        active = sorted(counts, key=lambda uid: (-counts[uid], uid))
        return Summary(
            changes=changes,
            key_messages=key_messages,
            alerts=alerts,
            tasks_opened=opened,
            tasks_closed=closed,
            message_count=messages,
            active=active,
        )


def has_activity(entries: Sequence[TimelineItem]) -> bool:
    """Did anything happen worth a new summary?"""
    return any(e.kind not in QUIET_KINDS for e in entries)
