"""Property: any sequence of commands across several incidents, with time passing and
reminders firing, leaves the database consistent (hypothesis stateful testing).

After every step:
- incident numbers, channel ids and channel names are unique;
- each incident's timeline is in time order, and replaying its status and severity
  entries gives the incident's status and severity;
- the milestone timestamps agree with the status: declared ≤ acknowledged ≤ mitigated ≤
  resolved ≤ closed where set, `resolved_at` is set exactly while the incident is
  resolved or closed (and is the time of its last resolution), `closed_at` exactly
  while it is closed;
- task numbers run 1..n within each incident, and a task is done exactly when it has a
  `done_at`, never before it was created;
- no incident has two holders of one role.

Every command's reply is also checked: never the apology, never over `MAX_REPLY`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
)
from sqlmodel import col, select

from adapters.console.app import build_console
from bot.clock import ManualClock
from bot.domain.status import Status
from bot.domain.timeline import EventKind
from bot.limits import MAX_REPLY
from storage.tables import Incident, RoleAssignment, Task, TimelineEntry
from tests.conftest import make_settings
from tests.fuzz_profiles import is_long
from tests.fuzz_support import MAX_LOOP_CPU_S, Figures, LoopMeter, compile_templates

T = TypeVar("T")
FIGURES = Figures("sequences")

TITLES = st.sampled_from(
    ["Checkout errors", "Disk filling up", "שרת נפל", "🔥🔥", "Login down", "DB slow"]
)
PEOPLE = st.sampled_from(["alice", "bob", "carol"])
COMMANDS = st.one_of(
    st.sampled_from(
        [
            "sev SEV1",
            "sev SEV2",
            "sev SEV3",
            "sev SEV4",
            "escalate",
            "deescalate",
            "resolve Fixed it",
            "reopen",
            "commander @bob",
            "commander @carol",
            "comms @alice",
            "role scribe @dave",
            "update Rolled back the deploy",
            "note Suspect the config push",
            "task add Check the CDN @dave",
            "task add Write it up",
            "tasks",
            "timeline",
            "timeline 2",
            "list",
            "snooze 30m",
            "summary",
        ]
    ),
    st.builds("task done {}".format, st.integers(1, 4)),
)


WARM_UP = (
    "sev SEV2",
    "escalate",
    "status monitoring",
    "status identified",
    "commander @bob",
    "role scribe @dave",
    "update Warming up",
    "note Warming up",
    "task add Warm up @dave",
    "task done 1",
    "tasks",
    "timeline",
    "list",
    "snooze 30m",
    "summary",
    "resolve Warm",
    "reopen",
    "status resolved",
    "status closed",
)


class IncidentSequences(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="warroom-sequences-"))
        self.clock = ManualClock()
        self.app, self.session = self.run(
            build_console(make_settings(self.folder), clock=self.clock)
        )
        compile_templates(self.app)
        self.run(self._warm_up())
        self.meter = LoopMeter(self.session.handle)
        self.session.handle = self.meter
        FIGURES.examples += 1

    async def _warm_up(self) -> None:
        """One incident through its life before anything is measured, so that the new
        engine has compiled its statements, as a long-running process has."""
        s = self.session
        s.as_user("alice")
        await s.send("/incident declare SEV1 Warm-up incident")
        s.go("inc-1-warm-up-incident")
        for command in WARM_UP:
            await s.send(f"/incident {command}")

    def run(self, step: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(step)

    def teardown(self) -> None:
        try:
            self.run(self.app.stop())
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def send(self, text: str, *, again: bool = False) -> int | None:
        """Send a command where the session stands and check the reply and the loop time
        (a first reading over the bound is confirmed by sending it again, as in
        tests/test_grammar_property.py)."""
        self.meter.take()
        outcome = self.run(self.session.send(f"/incident {text}"))
        loop = self.meter.take()
        plain = outcome.reply.plain() if outcome.reply else ""
        confirm = loop.longest > MAX_LOOP_CPU_S and not again
        FIGURES.count(text, loop, refused=plain.startswith("⚠️"), unconfirmed=confirm)
        assert not plain.startswith("😓"), f"the apology for {text!r}"
        assert len(plain) <= MAX_REPLY
        assert confirm or loop.longest <= MAX_LOOP_CPU_S, (
            f"{text!r} held the loop for {loop.longest * 1000:.0f} ms of CPU in {loop.where}"
            " twice in a row"
        )
        if confirm:
            self.send(text, again=True)
        return outcome.incident_number

    incidents = Bundle("incidents")

    @rule(target=incidents, who=PEOPLE, title=TITLES, level=st.sampled_from(["SEV1", "SEV3"]))
    def declare(self, who: str, title: str, level: str) -> Any:
        self.session.as_user(who)
        self.session.go("general")
        number = self.send(f"declare {level} {title}")
        return multiple(number) if number is not None else multiple()

    @rule(number=incidents, who=PEOPLE, command=COMMANDS, minutes=st.integers(0, 30))
    def command(self, number: int, who: str, command: str, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        name = self.run(self._channel_name(number))
        self.session.as_user(who)
        self.session.go(name or "general")
        self.send(command)

    @rule(number=incidents, state=st.sampled_from(list(Status)), minutes=st.integers(0, 30))
    def status(self, number: int, state: Status, minutes: int) -> None:
        self.command(number, "alice", f"status {state.value}", minutes)

    @rule(number=incidents, who=PEOPLE, text=st.text(min_size=1, max_size=40))
    def chat(self, number: int, who: str, text: str) -> None:
        name = self.run(self._channel_name(number))
        if name and not text.startswith("/"):
            self.session.as_user(who)
            self.session.go(name)
            self.run(self.session.send(text))

    @rule(minutes=st.integers(0, 240))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.run(self.app.bot.run_due())

    async def _channel_name(self, number: int) -> str | None:
        async with self.app.db.reader() as tx:
            row = (await tx.exec(select(Incident).where(Incident.number == number))).first()
            return row.channel_name if row else None

    @invariant()
    def the_database_is_consistent(self) -> None:
        self.run(check_database(self.app.db))


async def check_database(db: Any) -> None:
    async with db.reader() as tx:
        incidents = (await tx.exec(select(Incident))).all()
        entries = (await tx.exec(select(TimelineEntry).order_by(col(TimelineEntry.id)))).all()
        tasks = (await tx.exec(select(Task))).all()
        roles = (await tx.exec(select(RoleAssignment))).all()
    numbers = [i.number for i in incidents]
    assert len(numbers) == len(set(numbers)), numbers
    channels = [i.channel_id for i in incidents if i.channel_id]
    assert len(channels) == len(set(channels)), channels
    names = [i.channel_name for i in incidents if i.channel_id]
    assert len(names) == len(set(names)), names

    timeline: dict[int, list[TimelineEntry]] = defaultdict(list)
    for e in entries:
        timeline[e.incident_id].append(e)
    for incident in incidents:
        assert incident.id is not None
        check_incident(incident, timeline[incident.id])

    by_incident: dict[int, list[Task]] = defaultdict(list)
    for t in tasks:
        by_incident[t.incident_id].append(t)
        assert t.done == (t.done_at is not None), t
        assert t.done_at is None or t.done_at >= t.created_at, t
    for numbered in by_incident.values():
        assert sorted(t.number for t in numbered) == list(range(1, len(numbered) + 1))

    held = [(r.incident_id, r.role) for r in roles]
    assert len(held) == len(set(held)), held


def check_incident(incident: Incident, entries: list[TimelineEntry]) -> None:
    ref = f"INC-{incident.number}"
    times = [e.at for e in entries]
    assert times == sorted(times), f"{ref}: the timeline is out of time order"

    status, severity, resolved_at = Status.INVESTIGATING, None, None
    for e in entries:
        match e.kind:
            case EventKind.DECLARED:
                severity = e.data.get("severity")
            case EventKind.SEVERITY:
                severity = e.data.get("new")
            case EventKind.STATUS:
                status = Status(e.data["new"])
            case EventKind.RESOLVED:
                status, resolved_at = Status.RESOLVED, e.at
            case EventKind.REOPENED:
                status = Status.INVESTIGATING
    assert incident.status == status, f"{ref}: {incident.status}, the timeline says {status}"
    assert incident.severity == severity, f"{ref}: {incident.severity}, timeline {severity}"

    declared = incident.declared_at
    acknowledged, mitigated = incident.identified_at, incident.monitoring_at
    resolved, closed = incident.resolved_at, incident.closed_at
    milestones = [declared, acknowledged, mitigated, resolved, closed]
    present = [m for m in milestones if m is not None]
    assert present == sorted(present), f"{ref}: milestones out of order: {milestones}"
    assert incident.updated_at >= declared
    finished = incident.status in (Status.RESOLVED, Status.CLOSED)
    assert (resolved is not None) == finished, f"{ref}: {incident.status}, resolved_at {resolved}"
    assert resolved is None or resolved == resolved_at, f"{ref}: resolved_at {resolved}"
    assert (closed is not None) == (incident.status == Status.CLOSED), f"{ref}: closed_at"


# The long profile's examples are whole sequences here: a twentieth as many, each longer.
IncidentSequences.TestCase.settings = settings(
    IncidentSequences.TestCase.settings,
    stateful_step_count=50 if is_long() else 12,
    max_examples=max(settings().max_examples // 20, 1) if is_long() else 12,
)
TestIncidentSequences = IncidentSequences.TestCase


async def test_going_straight_to_monitoring_keeps_the_milestones_in_order(console):
    """The sequence the stateful test found: monitoring at 09:00, identified at 09:06."""
    s = console.session
    s.as_user("alice")
    await s.send("/incident declare SEV1 Checkout errors")
    s.go("inc-1-checkout-errors")
    await s.send("/incident status monitoring")
    console.clock.advance(timedelta(minutes=6))
    await s.send("/incident status identified")
    await check_database(console.app.db)
    async with console.app.db.reader() as tx:
        row = (await tx.exec(select(Incident))).one()
    assert row.identified_at == row.monitoring_at == row.declared_at
