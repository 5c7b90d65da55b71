"""Finishing interrupted declares on the console with a manual clock: the setup lease, two
recoverers racing, the rollback when no channel can be made, and timers that fell due
while the incident had no channel. (Real processes killed with SIGKILL:
tests/test_crash_safety.py.)

The console workspace stands in for the chat platform, shared by every app of a test as
one Slack workspace is shared by replicas. `Platform` kills the caller (`Killed`, a
BaseException nothing in warroom catches) in the middle of creating an incident channel,
before or after the channel exists: what a SIGKILL leaves behind in the database.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from adapters.console.app import build_console
from adapters.console.workspace import Channel, Workspace
from bot.clock import ManualClock
from bot.port import ChatError
from storage.tables import DueItem, Incident, ProcessedEvent, RoleAssignment, TimelineEntry
from tests.conftest import Console, make_settings
from tests.rhythm_support import T0, declare, due, reminders_in, row, timeline

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

NAME = "inc-1-checkout-errors"
LEASE = timedelta(seconds=60)  # WARROOM_SETUP_LEASE's default


class Killed(BaseException):
    """The process dies here: nothing after this point runs."""


class Platform(Workspace):
    """A console workspace where creating an incident channel can kill the caller
    (`die`: "before" or "after" the channel exists) or be refused (`refuse`)."""

    def __init__(self) -> None:
        super().__init__()
        self.die = ""
        self.refuse = False

    def add_channel(self, name: str, *, private: bool = False, channel_id: str = "") -> Channel:
        if name.startswith("inc-") and not channel_id:
            if self.refuse:
                raise ChatError("restricted_action")
            if self.die:
                when, self.die = self.die, ""
                if when == "after":
                    super().add_channel(name, private=private)
                raise Killed(name)
        return super().add_channel(name, private=private, channel_id=channel_id)

    def incident_channels(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.name.startswith("inc-")]


async def app_on(tmp_path: Path, clock: ManualClock, ws: Platform) -> Console:
    settings = make_settings(tmp_path)
    app, session = await build_console(settings, clock=clock, workspace=ws)
    return Console(app=app, session=session, clock=clock, settings=settings)


async def killed_declare(tmp_path: Path, clock: ManualClock, ws: Platform, when: str) -> None:
    """INC-1 declared by an app that dies creating its channel (and is stopped)."""
    first = await app_on(tmp_path, clock, ws)
    ws.die = when
    try:
        with pytest.raises(Killed):
            await declare(first, "SEV2 Checkout errors --playbook default")
    finally:
        await first.app.stop()


def cards_in(channel: Channel) -> list[str]:
    return [m.id for m in channel.messages if m.rich and m.rich.buttons and "INC-1" in m.text]


async def test_a_declare_in_progress_is_left_alone_until_its_lease_runs_out(tmp_path):
    clock, ws = ManualClock(), Platform()
    await killed_declare(tmp_path, clock, ws, "before")
    c = await app_on(tmp_path, clock, ws)
    try:
        inc = await row(c)
        assert (inc.channel_id, inc.channel_name, inc.setup_started_at) == (None, NAME, T0)

        clock.set(T0 + LEASE - timedelta(seconds=1))  # as far as anyone knows, still at work
        done = await c.app.recover()
        assert (done.resumed, done.rolled_back) == ([], [])
        assert done.next_check == T0 + LEASE
        assert ws.incident_channels() == [] and (await row(c)).setup_started_at == T0

        clock.set(T0 + LEASE + timedelta(seconds=1))
        done = await c.app.recover()
        assert done.resumed == [inc.id] and done.next_check is None
        [channel] = ws.incident_channels()
        inc = await row(c)
        assert (inc.channel_id, inc.channel_name) == (channel.id, NAME)
        assert inc.setup_started_at is None
        assert cards_in(channel) == [inc.card_message_id]
        announced = ws.channel_by_name("incidents")
        assert announced is not None and len(announced.messages) == 1
        [resumed] = await timeline(c, "declare_resumed")
        assert resumed.text == f"after a restart: created #{NAME}"

        done = await c.app.recover()  # finished: nothing more to do
        assert (done.resumed, done.next_check) == ([], None)
    finally:
        await c.app.stop()


async def test_two_recoverers_race_and_one_adopts_the_channel(tmp_path):
    clock, ws = ManualClock(), Platform()
    await killed_declare(tmp_path, clock, ws, "after")
    [orphan] = ws.incident_channels()
    b, c = await app_on(tmp_path, clock, ws), await app_on(tmp_path, clock, ws)
    try:
        clock.set(T0 + LEASE + timedelta(seconds=1))
        done = await asyncio.gather(b.app.recover(), c.app.recover())
        assert sorted(len(d.resumed) for d in done) == [0, 1]
        assert ws.incident_channels() == [orphan]  # adopted, not made again
        inc = await row(b)
        assert inc.channel_id == orphan.id and inc.setup_started_at is None
        assert cards_in(orphan) == [inc.card_message_id]
        assert len(await timeline(b, "declare_resumed")) == 1
        [created] = await timeline(b, "channel_created")
        assert created.data["adopted"] is True
    finally:
        await b.app.stop()
        await c.app.stop()


async def test_no_channel_at_all_rolls_the_declare_back(tmp_path):
    clock, ws = ManualClock(), Platform()
    await killed_declare(tmp_path, clock, ws, "before")
    c = await app_on(tmp_path, clock, ws)
    try:
        ws.refuse = True
        clock.set(T0 + LEASE + timedelta(seconds=1))
        done = await c.app.recover()
        assert (done.resumed, done.rolled_back) == ([], [1])
        async with c.app.db.reader() as tx:
            for table in (Incident, RoleAssignment, TimelineEntry, DueItem):
                assert (await tx.exec(select(func.count()).select_from(table))).one() == 0
            # The event's key is not linked to the incident, so it stays claimed.
            assert (await tx.exec(select(func.count()).select_from(ProcessedEvent))).one() == 1
        assert ws.incident_channels() == []
    finally:
        await c.app.stop()


async def test_timers_that_fell_due_without_a_channel_fire_once_it_exists(tmp_path):
    clock, ws = ManualClock(), Platform()
    await killed_declare(tmp_path, clock, ws, "before")
    c = await app_on(tmp_path, clock, ws)
    try:
        clock.set(T0 + timedelta(minutes=31))  # SEV2: the first update was due at 09:30
        fired = await c.app.bot.run_due()
        assert {f.kind for f in fired} >= {"update"} and not any(f.posted for f in fired)
        update = (await due(c))[("update", "")]
        assert (update.due_at, update.fired_count) == (None, 1)  # consumed, nowhere to post

        done = await c.app.recover()
        assert done.resumed == [1]
        update = (await due(c))[("update", "")]
        assert (update.due_at, update.fired_count) == (clock.now(), 0)

        fired = await c.app.bot.run_due()
        assert "update" in {f.kind for f in fired if f.posted}
        [channel] = ws.incident_channels()
        assert len(reminders_in(channel)) == 1
        [entry] = await timeline(c, "reminder")
        assert entry.data["reminder"] == 1
    finally:
        await c.app.stop()
