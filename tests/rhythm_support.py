"""Helpers shared by the update-rhythm tests (reminders, summaries, comms, postmortems)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from adapters.console.render import render
from adapters.console.workspace import Channel, Message
from bot import reminders
from bot.port import Outcome, RichMessage
from bot.rhythm import Fired
from storage import repository as repo
from storage.tables import DueItem, Incident, TimelineEntry
from tests.conftest import PLAYBOOKS, Console

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)  # ManualClock's default start


def at(minutes: float) -> datetime:
    """The moment `minutes` after 09:00 UTC on the console clock's first day."""
    return T0 + timedelta(minutes=minutes)


async def declare(c: Console, args: str, *, user: str = "alice") -> Outcome:
    c.session.as_user(user)
    c.session.go("general")
    return await c.session.send(f"/incident declare {args}")


async def row(c: Console, number: int = 1) -> Incident:
    async with c.app.db.reader() as tx:
        inc = await repo.incident_by_number(tx, number=number)
    assert inc is not None, f"no INC-{number} in the database"
    return inc


async def go_incident(c: Console, *, user: str, number: int = 1) -> Channel:
    inc = await row(c, number)
    assert inc.channel_name
    c.session.as_user(user)
    return c.session.go(inc.channel_name)


async def run(c: Console, text: str, *, user: str = "alice", number: int = 1) -> Outcome:
    """Type `/incident <text>` in the incident channel."""
    await go_incident(c, user=user, number=number)
    return await c.session.send(f"/incident {text}")


async def say(c: Console, text: str, *, user: str, number: int = 1) -> Message:
    """Post a chat message in the incident channel; returns the posted message."""
    ch = await go_incident(c, user=user, number=number)
    await c.session.send(text)
    return ch.messages[-1]


async def tick(c: Console, minutes: float) -> list[Fired]:
    """Move the clock to 09:00 + minutes and fire what is due."""
    c.clock.set(at(minutes))
    return await c.app.bot.run_due()


async def due(c: Console, number: int = 1) -> dict[tuple[str, str], DueItem]:
    inc = await row(c, number)
    async with c.app.db.reader() as tx:
        return {(i.kind, i.ref): i for i in await reminders.items(tx, incident_id=inc.id or 0)}


async def due_at(c: Console, kind: str = "update", ref: str = "", number: int = 1) -> Any:
    item = (await due(c, number)).get((kind, ref))
    return item.due_at if item else None


async def timeline(c: Console, kind: str | None = None, number: int = 1) -> list[TimelineEntry]:
    inc = await row(c, number)
    async with c.app.db.reader() as tx:
        entries = list(await repo.timeline(tx, incident_id=inc.id or 0))
    return [e for e in entries if kind is None or e.kind == kind]


def channel(c: Console, name: str) -> Channel:
    found = c.session.ws.channel_by_name(name)
    assert found is not None, f"no #{name}"
    return found


async def incident_channel(c: Console, number: int = 1) -> Channel:
    inc = await row(c, number)
    assert inc.channel_name
    return channel(c, inc.channel_name)


def headed(ch: Channel, start: str) -> list[Message]:
    """The bot's rich messages in a channel whose header starts with `start`."""
    return [m for m in ch.messages if m.rich is not None and m.rich.header.startswith(start)]


def reminders_in(ch: Channel) -> list[Message]:
    return headed(ch, "⏰")


def escalations_in(ch: Channel) -> list[Message]:
    return [m for m in ch.messages if m.rich is not None and "went unanswered" in m.rich.header]


def summaries_in(ch: Channel) -> list[Message]:
    return headed(ch, "📋 Summary")


def checklist_in(ch: Channel) -> list[Message]:
    return [m for m in ch.messages if m.text.startswith("☑️ Checklist")]


def private_to(c: Console, user: str) -> list[RichMessage]:
    found = c.session.ws.user_by_name(user)
    assert found is not None
    return c.session.ws.private_for(found.id)


def rendered(c: Console, message: RichMessage) -> str:
    """A rich message as the console shows it (mention tokens become @names)."""
    return render(message, c.session.ws)


def playbooks_copy(tmp_path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A copy of the repo's playbooks folder; `edit` changes default.yaml's data in place."""
    folder = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS, folder)
    if edit is not None:
        path = folder / "default.yaml"
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return folder


# --- reading a Markdown draft -------------------------------------------------------------

_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_UNESCAPED_PIPE = re.compile(r"(?<!\\)(?:\\\\)*\|")


def plain(inline: Token) -> str:
    """The text a reader sees in an inline token: breaks become newlines; raw HTML, code
    spans and links are left out, so text that turned into markup does not count."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type == "text":
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def bold(inline: Token) -> list[str]:
    """The runs of text inside `**…**` in an inline token."""
    runs: list[str] = []
    depth = 0
    for child in inline.children or ():
        if child.type == "strong_open":
            depth += 1
            runs.append("")
        elif child.type == "strong_close":
            depth -= 1
        elif depth and child.type == "text":
            runs[-1] += child.content
        elif depth and child.type in ("softbreak", "hardbreak"):
            runs[-1] += "\n"
    return runs


class Doc:
    """A Markdown document parsed with markdown-it (CommonMark + tables)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _MARKDOWN.parse(source)

    @property
    def headings(self) -> list[tuple[int, str]]:
        return [
            (int(t.tag[1]), plain(self.tokens[i + 1]))
            for i, t in enumerate(self.tokens)
            if t.type == "heading_open"
        ]

    def types(self) -> set[str]:
        found = {t.type for t in self.tokens}
        for t in self.tokens:
            found |= {c.type for c in t.children or ()}
        return found

    def section(self, heading: str) -> list[Token]:
        """The tokens after the heading with this text, up to the next heading of its level
        or higher."""
        start = next(
            i
            for i, t in enumerate(self.tokens)
            if t.type == "heading_open" and plain(self.tokens[i + 1]) == heading
        )
        level = self.tokens[start].tag
        end = next(
            (
                i
                for i in range(start + 3, len(self.tokens))
                if self.tokens[i].type == "heading_open" and self.tokens[i].tag <= level
            ),
            len(self.tokens),
        )
        return self.tokens[start + 3 : end]

    def items(self, heading: str) -> list[Token]:
        """The inline token of each list item (at any depth) in a section."""
        tokens = self.section(heading)
        return [
            tokens[i + 2]
            for i, t in enumerate(tokens)
            if t.type == "list_item_open" and tokens[i + 2].type == "inline"
        ]

    def inlines(self) -> list[Token]:
        return [t for t in self.tokens if t.type == "inline"]

    def tables(self) -> list[list[list[str]]]:
        """Every table as rows of cell texts, the header row first."""
        tables: list[list[list[str]]] = []
        for i, t in enumerate(self.tokens):
            if t.type == "table_open":
                tables.append([])
            elif t.type == "tr_open":
                tables[-1].append([])
            elif t.type in ("th_open", "td_open"):
                tables[-1][-1].append(plain(self.tokens[i + 1]))
        return tables

    def pipe_counts(self) -> list[set[int]]:
        """For each table in the source, the distinct numbers of unescaped pipes per line."""
        counts: list[set[int]] = []
        for t in self.tokens:
            if t.type == "table_open" and t.map:
                rows = self.source.splitlines()[t.map[0] : t.map[1]]
                counts.append({len(_UNESCAPED_PIPE.findall(line)) for line in rows})
        return counts
