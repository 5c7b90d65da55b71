"""Property: whatever text follows `/incident`, `Bot.handle` on the console platform

- never fails unexpectedly (the reply is never the apology, no effect fails),
- replies with at most `MAX_REPLY` characters,
- produces no mention, in the reply or in anything posted, that the core did not make
  from a user reference (checked through the real Slack and Discord renderers too),
- changes nothing at all when it refuses the command (every table, every channel), and
- never holds the event loop for more than 100 ms: no stretch of the loop thread's
  work between two yields (one callback) takes more CPU than that.

The last is measured as CPU time of the loop's thread, not wall time, per callback the
loop runs while the command is handled (tests/fuzz_support.py: `LoopMeter`). A
command's CPU time in all is reported too: a declare's ~60 short stretches add up to
30-50 ms on a quiet two-core machine but over 100 ms when it is heavily loaded, while
other tasks run between them. The class is guarded structurally as well: input is
capped before parsing and every parser is linear (bot/limits.py, bot/command_words.py).

Chat captured from the incident channel (text of the same kinds) comes back in the
timeline and in summaries, so it is checked the same way. The `ci` profile runs a few
hundred commands; `WARROOM_FUZZ=long` with
`WARROOM_FUZZ_EXAMPLES=N` runs about 3.5 N (see docs/testing.md).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.console.app import build_console
from adapters.console.session import ConsoleSession
from bot.app import App
from bot.clock import ManualClock
from bot.events import CommandInvoked
from bot.limits import MAX_REPLY
from bot.port import ChannelRef, RichMessage, UserRef
from storage import repository as repo
from tests.conftest import make_settings
from tests.fuzz_support import (
    MAX_LOOP_CPU_S,
    Figures,
    LoopMeter,
    check_mentions,
    command_text,
    compile_templates,
)
from tests.snapshots import chat_state, db_state

FIGURES = Figures("grammar")
# Examples per database: a fresh one keeps the before/after snapshots small.
EXAMPLES_PER_DATABASE = 40
WARM_UP = (
    "help",
    "help declare",
    "list",
    "sev SEV1",
    "escalate",
    "deescalate",
    "status identified",
    "commander @bob",
    "role scribe @carol",
    "update Rolled back",
    "note Suspect the deploy",
    "task add Check the disks @dave",
    "task done 1",
    "tasks",
    "timeline",
    "snooze 30m",
    "summary",
    "comms",
    "comms customer_notice",
    "postmortem",
    "resolve Fixed",
    "reopen",
    "sev nonsense",
)


class Arena:
    """A console app on its own SQLite file, warmed up, with one open incident to work in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serial = itertools.count()
        self.app: App | None = None
        self.session: ConsoleSession
        self.clock = ManualClock()
        self.examples = 0
        self.channel = ""
        self.meter: LoopMeter
        self.built = 0

    async def ready(self) -> ConsoleSession:
        if self.app is None or self.examples >= EXAMPLES_PER_DATABASE:
            await self.close()
            self.built = next(self.serial) + 1
            folder = self.root / f"db{self.built - 1}"
            folder.mkdir()
            self.app, self.session = await build_console(make_settings(folder), clock=self.clock)
            compile_templates(self.app)
            self.meter = LoopMeter(self.session.handle)
            self.session.handle = self.meter
            self.examples = 0
            await self._warm_up()
        self.examples += 1
        await self._open_incident()
        return self.session

    async def _warm_up(self) -> None:
        """Every kind of command once, so templates compile before anything is measured."""
        s = self.session
        s.as_user("alice")
        s.go("general")
        await s.send("/incident declare SEV2 Warm-up incident")
        s.go("inc-1-warm-up-incident")
        for command in WARM_UP:
            await s.send(f"/incident {command}")
        self.channel = ""

    async def _open_incident(self) -> None:
        """Work in an open incident: declare a new one when the last was resolved."""
        assert self.app is not None
        s = self.session
        async with self.app.db.reader() as tx:
            row = await repo.incident_by_channel(tx, channel_id=self.channel)
        if row is None or row.status not in repo.OPEN_STATUSES:
            s.as_user("alice")
            s.go("general")
            out = await s.send("/incident declare SEV2 Checkout errors")
            assert out.incident_number is not None
            async with self.app.db.reader() as tx:
                row = await repo.incident_by_number(tx, number=out.incident_number)
            assert row is not None and row.channel_id is not None
            self.channel = row.channel_id

    async def close(self) -> None:
        if self.app is not None:
            await self.app.stop()
            self.app = None
            shutil.rmtree(self.root / f"db{self.built - 1}", ignore_errors=True)


@pytest.fixture
async def arena(tmp_path: Path) -> AsyncIterator[Arena]:
    arena = Arena(tmp_path)
    try:
        yield arena
    finally:
        await arena.close()


def _rich_messages(session: ConsoleSession) -> dict[str, RichMessage | None]:
    return {m.id: m.rich for c in session.ws.channels.values() for m in c.messages}


async def run_one(arena: Arena, text: str, *, again: bool = False) -> None:
    """Send one command and check every property of what came back.

    A first reading over the loop bound is confirmed by sending the same text again: a
    command that holds the loop does so every time, while the thread CPU clock of a
    loaded VM sometimes jumps by tens of milliseconds (docs/testing.md)."""
    assert arena.app is not None
    s, db = arena.session, arena.app.db
    ws = s.ws
    db_before, chat_before = await db_state(db), chat_state(ws)
    messages_before, topics_before = (
        _rich_messages(s),
        {c.id: c.topic for c in ws.channels.values()},
    )
    seen = len(ws.private)
    arena.clock.advance(timedelta(seconds=1))
    event = CommandInvoked(
        key=ws.next_key(),
        user=UserRef(s.user.id, s.user.name),
        channel=ChannelRef(s.channel.id, s.channel.name),
        at=arena.clock.now(),
        text=text,
    )
    arena.meter.take()
    outcome = await s.deliver(event)
    loop = arena.meter.take()
    reply = outcome.reply
    plain = reply.plain() if reply is not None else ""
    refused = plain.startswith("⚠️")
    confirm = loop.longest > MAX_LOOP_CPU_S and not again
    FIGURES.count(text, loop, refused=refused, unconfirmed=confirm)

    assert not plain.startswith("😓"), f"the apology for {text[:200]!r}"
    assert len(plain) <= MAX_REPLY, f"a reply of {len(plain)} characters for {text[:200]!r}"
    assert confirm or loop.longest <= MAX_LOOP_CPU_S, (
        f"{text[:200]!r} held the loop for {loop.longest * 1000:.0f} ms of CPU in {loop.where}"
        " twice in a row"
    )
    private = ws.private[seen:]  # the reply, and read-ins for people invited meanwhile
    assert sum(r.message is reply for r in private) == (1 if reply else 0)
    assert all(r.user_id == s.user.id for r in private if r.message is reply)

    users = set(ws.users)
    changed = [
        m
        for m_id, m in _rich_messages(s).items()
        if m is not None and messages_before.get(m_id) is not m
    ]
    for message in [*changed, *(r.message for r in private)]:
        check_mentions(message, users)
        assert "warroom could not" not in message.plain(), message.plain()
    for channel in ws.channels.values():
        if channel.topic != topics_before.get(channel.id):
            check_mentions(RichMessage(text=channel.topic), users)

    if refused:
        assert chat_state(ws) == chat_before, f"a refused {text[:200]!r} changed a channel"
        assert await db_state(db) == db_before, f"a refused {text[:200]!r} changed the database"
    if confirm:
        await run_one(arena, text, again=True)


# The forms that broke commands before, always run (before anything generated).
KNOWN = [
    "snooze " + "9" * 3990,
    "snooze " + "9" * 16000,
    "snooze 1000000000d",
    "task done " + "9" * 3990,
    "task done #99999999999",
    "commander \x02@U123\x03",
    "declare SEV2 \x02@U123\x03 is down --commander \x02@UBOB\x03",
    "note \ud800 and \udfff",
    "declare \u200b\u202e",
    "update\u00a0<!here> @channel <@UBOB> \x02@UBOB\x03",
    "frob" + "x" * 3990,
    "list " + "1" * 3990,
    "timeline 99999999999",
    "declare SEV2 -- --force push",
    "timeline",
    "summary",
]
FORGED_CHAT = "\x02@UBOB\x03 <!here> @everyone <@UBOB> \ud800"


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    max_examples=max(settings().max_examples, 80),  # the ci profile's 40 are too few here
)
@example(commands=KNOWN, who="alice", inside=True, chat=FORGED_CHAT)
@example(commands=KNOWN, who="bob", inside=False, chat=FORGED_CHAT)
@given(
    commands=st.lists(command_text(), min_size=1, max_size=6),
    who=st.sampled_from(["alice", "bob"]),
    inside=st.booleans(),
    chat=command_text(),
)
async def test_no_command_text_crashes_freezes_forges_or_half_writes(
    arena: Arena, commands: list[str], who: str, inside: bool, chat: str
) -> None:
    s = await arena.ready()
    FIGURES.examples += 1
    s.as_user(who)
    s.go(s.ws.channels[arena.channel].name)
    if chat.strip() and not chat.startswith("/"):  # captured: timelines and summaries show it
        await s.send(chat)
    if not inside:
        s.go("general")
    for text in commands:
        await run_one(arena, text)
