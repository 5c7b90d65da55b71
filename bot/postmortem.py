"""Compiling the timeline into a blameless postmortem draft (Markdown, via Jinja2).

Everything users typed is escaped by `bot.markdown`, so it renders verbatim and cannot
break the document's structure. Long stretches of chat are grouped in `<details>`
blocks, in order; key events stand out in bold.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain.durations import humanize
from bot.domain.timeline import KEY_KINDS, EventKind
from bot.markdown import escape_block, escape_inline
from bot.render import Renderer
from bot.views import IncidentView

CHAT_KINDS = frozenset({EventKind.CHAT, EventKind.CHAT_EDITED, EventKind.CHAT_DELETED})
GROUP_AT = 5  # this many chat messages in a row are grouped
# A permalink is shown only if it is plain URL characters (no emphasis, brackets, code).
_SAFE_URL = re.compile(r"^(https|console)://[A-Za-z0-9][A-Za-z0-9./?=&%#~+:_-]*$")


class Entry(Protocol):
    at: datetime
    kind: str
    actor_id: str
    actor_name: str
    text: str
    data: dict[str, Any]
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Line:
    utc: str
    local: str
    text: str  # Markdown, user text already escaped
    key: bool


@dataclass(slots=True)
class ChatGroup:
    start_utc: str
    end_utc: str
    people: list[str]
    lines: list[Line] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.lines)


@dataclass(frozen=True, slots=True)
class Milestone:
    name: str
    utc: str
    local: str
    since: str


class Clocks:
    """Formats a moment in UTC and in the configured timezone."""

    def __init__(self, tz: str) -> None:
        self.tz = ZoneInfo(tz)
        self.tz_name = tz

    # f-strings, not strftime: a long timeline formats two times per entry.
    def utc(self, at: datetime) -> str:
        return (
            f"{at.year:04d}-{at.month:02d}-{at.day:02d} "
            f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}"
        )

    def local(self, at: datetime) -> str:
        here = at.astimezone(self.tz)
        return f"{self.utc(here)} {here.tzname() or ''}".rstrip()


def _name(entry: Entry) -> str:
    return entry.actor_name or entry.actor_id or "warroom"


def _who(entry: Entry) -> str:
    return escape_inline(_name(entry))


def _link(url: object) -> str:
    """` (url)` for a platform permalink, as plain text (Markdown viewers that autolink
    will link it; nothing else can come of it); nothing for a missing or odd one."""
    if not isinstance(url, str) or not _SAFE_URL.match(url):
        return ""
    return f" ({url})"


def describe(entry: Entry) -> str:
    """One Markdown line for an entry."""
    who, d = _who(entry), entry.data
    text = escape_block(entry.text, indent="    ")
    match entry.kind:
        case EventKind.DECLARED:
            return f"{who} declared the incident ({escape_inline(str(d.get('severity')))}): {text}"
        case EventKind.SEVERITY:
            return f"{who} changed severity {text}"
        case EventKind.STATUS:
            return f"{who} changed status {text}"
        case EventKind.ROLE:
            return f"{who} assigned {text}"
        case EventKind.UPDATE:
            return f"{who} posted an update: {text}"
        case EventKind.NOTE:
            return f"{who} noted: {text}"
        case EventKind.CHAT:
            gone = " *(deleted)*" if d.get("deleted") else ""
            return f"{who}: {text}{gone}"
        case EventKind.CHAT_EDITED:
            return f"{who} edited a message: {text}"
        case EventKind.CHAT_DELETED:
            return f"{who} deleted a message"
        case EventKind.PINNED:
            author = escape_inline(str(d.get("author_name") or "someone"))
            return f"{who} marked a key message by {author}: {text}{_link(d.get('permalink'))}"
        case EventKind.UNPINNED:
            return f"{who} unmarked a key message: {text}"
        case EventKind.TASK_ADDED:
            return f"{who} added task #{d.get('task')}: {text}"
        case EventKind.TASK_DONE:
            return f"{who} completed task #{d.get('task')}: {text}"
        case EventKind.RESOLVED:
            return f"{who} resolved the incident" + (f": {text}" if text else "")
        case EventKind.REOPENED:
            return f"{who} reopened the incident"
        case EventKind.JOINED:
            return f"{who} joined the channel"
    label = escape_inline(str(entry.kind).replace("_", " "))
    return f"{label}: {text}" if text else label


def timeline_items(entries: Iterable[Entry], clocks: Clocks) -> Iterator[Line | ChatGroup]:
    """The timeline, in order, as the template walks it: lazily, one item at a time."""
    run: list[tuple[Entry, Line]] = []

    def flush() -> Iterator[Line | ChatGroup]:
        if len(run) >= GROUP_AT:
            # The <summary> line is raw HTML, where Markdown escapes do not apply.
            people = list(dict.fromkeys(html.escape(_name(e)) for e, _ in run))
            yield ChatGroup(
                start_utc=run[0][1].utc,
                end_utc=run[-1][1].utc,
                people=people,
                lines=[line for _, line in run],
            )
        else:
            yield from (line for _, line in run)
        run.clear()

    for entry in entries:
        line = Line(
            utc=clocks.utc(entry.at),
            local=clocks.local(entry.at),
            text=describe(entry),
            key=entry.kind in KEY_KINDS,
        )
        if entry.kind in CHAT_KINDS:
            run.append((entry, line))
        else:
            yield from flush()
            yield line
    yield from flush()


def milestones(view: IncidentView, clocks: Clocks) -> list[Milestone]:
    t = view.times
    rows: list[tuple[str, datetime | None, timedelta | None]] = [
        ("Declared", t.declared, timedelta(0)),
        ("Acknowledged", t.acknowledged, t.time_to_acknowledge),
        ("Mitigated", t.mitigated, t.time_to_mitigate),
        ("Resolved", t.resolved, t.time_to_resolve),
    ]
    return [
        Milestone(
            name,
            clocks.utc(at) if at else "—",
            clocks.local(at) if at else "—",
            humanize(since) if at else "—",
        )
        for name, at, since in rows
    ]


def _still_key(entries: Sequence[Entry]) -> list[Entry]:
    """The messages marked key and not unmarked later, in the order they were marked."""
    marked: dict[str | None, Entry] = {}
    for e in entries:
        if e.kind == EventKind.PINNED:
            marked[e.message_id] = e
        elif e.kind == EventKind.UNPINNED:
            marked.pop(e.message_id, None)
    return list(marked.values())


def compile_postmortem(
    renderer: Renderer,
    *,
    template: str,
    view: IncidentView,
    entries: Sequence[Entry],
    participants: Sequence[str],
    severity_label: str,
    timezone: str,
    generated_at: datetime,
) -> bytes:
    """The draft as UTF-8 Markdown. It is rendered chunk by chunk straight to bytes, so a
    long timeline never exists as one large Python string."""
    clocks = Clocks(timezone)
    resolution = next((e.text for e in reversed(entries) if e.kind == EventKind.RESOLVED), "")
    key_messages = [describe(e) for e in _still_key(entries)]
    return renderer.render_bytes(
        template,
        incident=view,
        title=escape_inline(view.title),
        summary=escape_block(view.summary) if view.summary else "",
        resolution=escape_block(resolution) if resolution else "",
        latest_update=escape_block(view.latest_update) if view.latest_update else "",
        severity_label=severity_label,
        roles=[
            (escape_inline(r.label), escape_inline(r.user_name or r.user_id or "—"))
            for r in view.roles
        ],
        participants=[escape_inline(p) for p in participants],
        milestones=milestones(view, clocks),
        items=timeline_items(entries, clocks),
        entry_count=len(entries),
        key_messages=key_messages,
        tasks=[
            (
                t.number,
                escape_inline(" ".join(t.text.split())),
                escape_inline(t.owner_name or t.owner_id or "unassigned"),
                "done" if t.done else "open",
            )
            for t in view.tasks
        ],
        open_tasks=[escape_inline(" ".join(t.text.split())) for t in view.tasks if not t.done],
        timezone=timezone,
        generated=clocks.utc(generated_at),
        impact=f"{view.impact} × {view.urgency}" if view.impact and view.urgency else "",
    )
