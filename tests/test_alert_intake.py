"""Alert intake through `Bot.handle`: declare, repeat, join, resolve, fold, race.

Real App on a SQLite file and the console platform; alerts arrive as the neutral event
the HTTP hooks build, so these tests hold the core's rules whatever the format.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from adapters.console.app import build_console
from bot.alerts.model import Alert, IntakeReport, Link
from bot.clock import ManualClock
from bot.events import AlertsReceived
from bot.port import ChannelRef, UserRef
from storage import repository as repo
from storage.tables import AlertRecord, Incident, TimelineEntry
from tests.conftest import PLAYBOOKS, Console, make_settings

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

SOURCE = UserRef("alertmanager", "Alertmanager")


def alert(key: str = "fp-1", *, status: str = "firing", **kw: Any) -> Alert:
    labels = kw.pop("labels", {"alertname": "HighErrorRate", "severity": "critical"})
    return Alert(
        source=kw.pop("source", "alertmanager"),
        key=key,
        status=status,  # type: ignore[arg-type]
        title=kw.pop("title", "High error rate on checkout"),
        labels=labels,
        severity=labels.get("severity", ""),
        **kw,
    )


async def deliver(console: Console, *alerts: Alert) -> IntakeReport:
    event = AlertsReceived(
        key=uuid.uuid4().hex,
        user=SOURCE,
        channel=ChannelRef(""),
        source=alerts[0].source if alerts else "alertmanager",
        alerts=alerts,
    )
    outcome = await console.app.bot.handle(event)
    assert outcome.report is not None, outcome.reply
    return outcome.report


async def incidents(console: Console) -> list[Incident]:
    async with console.app.db.reader() as tx:
        return list(await repo.all_incidents(tx))


async def alert_notes(console: Console, number: int = 1) -> list[TimelineEntry]:
    async with console.app.db.reader() as tx:
        row = await repo.incident_by_number(tx, number=number)
        assert row is not None and row.id is not None
        return [e for e in await repo.timeline(tx, incident_id=row.id) if e.kind == "alert"]


def channel_texts(console: Console, name: str) -> list[str]:
    channel = console.session.ws.channel_by_name(name)
    assert channel is not None
    return [m.text for m in channel.messages]


async def test_a_firing_alert_declares_an_incident_with_its_channel(console: Console) -> None:
    report = await deliver(console, alert(links=(Link("Source", "http://prom/graph"),)))

    assert report.declared == [1] and report.incidents == [1] and report.received == 1
    [inc] = await incidents(console)
    assert (inc.title, inc.severity, inc.playbook) == (
        "High error rate on checkout",
        "SEV1",  # severity=critical → SEV1 by the default playbook's rule
        "default",
    )
    assert inc.declared_by_name == "Alertmanager"
    assert "Source: http://prom/graph" in inc.summary
    assert inc.channel_name == "inc-1-high-error-rate-on-checkout"
    # Nobody was given the roles, so they stay unassigned (the source takes none).
    async with console.app.db.reader() as tx:
        assert await repo.roles(tx, incident_id=inc.id or 0) == {}
    card = channel_texts(console, inc.channel_name)[0]
    assert "unassigned" in card.lower(), card
    [note] = await alert_notes(console)
    assert note.data["event"] == "declared" and note.data["key"] == "fp-1"
    announced = channel_texts(console, "incidents")
    assert any("INC-1" in t or "High error rate" in t for t in announced)


async def test_a_repeat_counts_on_the_timeline_and_opens_nothing(console: Console) -> None:
    await deliver(console, alert())
    inc = (await incidents(console))[0]
    assert inc.channel_name
    posts = len(channel_texts(console, inc.channel_name))

    for _ in range(3):
        report = await deliver(console, alert())
        assert report.deduplicated == 1 and report.declared == []

    assert len(await incidents(console)) == 1
    notes = await alert_notes(console)
    assert [n.data["event"] for n in notes] == ["declared", "repeated", "repeated", "repeated"]
    assert [n.data.get("count") for n in notes[1:]] == [2, 3, 4]
    assert len(channel_texts(console, inc.channel_name)) == posts  # repeats are not posted


async def test_resolving_records_posts_and_moves_to_monitoring(console: Console) -> None:
    await deliver(console, alert())
    report = await deliver(console, alert(status="resolved"))

    assert report.resolved == 1
    [inc] = await incidents(console)
    assert inc.status == "monitoring"  # the default rule says on_resolve: monitoring
    assert inc.channel_name
    assert any("resolved" in t for t in channel_texts(console, inc.channel_name))
    assert [n.data["event"] for n in await alert_notes(console)] == ["declared", "resolved"]
    again = await deliver(console, alert(status="resolved"))
    assert again.deduplicated == 1 and again.resolved == 0


async def test_a_flapping_alert_is_folded(console: Console) -> None:
    await deliver(console, alert())
    inc = (await incidents(console))[0]
    assert inc.channel_name
    await deliver(console, alert(status="resolved"))
    posts = len(channel_texts(console, inc.channel_name))
    for _ in range(5):  # flapping inside the 10-minute fold window
        console.clock.advance(timedelta(seconds=30))
        await deliver(console, alert())
        console.clock.advance(timedelta(seconds=30))
        await deliver(console, alert(status="resolved"))

    assert len(channel_texts(console, inc.channel_name)) == posts  # nothing more posted
    notes = await alert_notes(console)
    assert len(notes) == 2 + 10  # but every change is on the timeline
    async with console.app.db.reader() as tx:
        row = (await tx.exec(select(AlertRecord))).one()
    assert (row.flaps, row.fire_count, row.status) == (5, 6, "resolved")

    console.clock.advance(timedelta(minutes=11))  # quiet for longer than the window
    await deliver(console, alert())
    texts = channel_texts(console, inc.channel_name)
    assert len(texts) == posts + 1 and "fired again" in texts[-1]


async def test_a_new_alert_of_the_same_group_joins_the_incident(console: Console) -> None:
    await deliver(console, alert("fp-1", group='{}:{alertname="HighErrorRate"}'))
    report = await deliver(
        console, alert("fp-2", group='{}:{alertname="HighErrorRate"}', title="Second pod")
    )

    assert report.attached == 1 and report.declared == [] and report.incidents == [1]
    assert len(await incidents(console)) == 1
    inc = (await incidents(console))[0]
    assert inc.channel_name
    assert any(
        "Second pod" in t and "joined" in t for t in channel_texts(console, inc.channel_name)
    )


async def test_after_the_incident_is_resolved_the_alert_opens_a_new_one(console: Console) -> None:
    await deliver(console, alert())
    inc = (await incidents(console))[0]
    s = console.session
    s.as_user("alice")
    s.go(inc.channel_name or "")
    await s.send("/incident resolve Fixed")

    report = await deliver(console, alert())
    assert report.declared == [2]
    async with console.app.db.reader() as tx:
        row = (await tx.exec(select(AlertRecord))).one()
    assert row.incident_id == (await incidents(console))[1].id  # the key moved on


async def test_concurrent_deliveries_of_a_new_alert_open_one_incident(console: Console) -> None:
    reports = await asyncio.gather(*(deliver(console, alert()) for _ in range(20)))

    assert len(await incidents(console)) == 1
    assert sum(len(r.declared) for r in reports) == 1
    assert sum(r.deduplicated for r in reports) == 19


async def test_two_apps_on_one_database_race_to_one_incident(tmp_path: Path) -> None:
    """Two processes' worth of App (separate engines, pools and ports) on one SQLite file."""
    settings = make_settings(tmp_path)
    one, _ = await build_console(settings, clock=ManualClock())
    two, _ = await build_console(settings, clock=ManualClock())
    try:

        async def send(app: Any) -> IntakeReport:
            event = AlertsReceived(
                key=uuid.uuid4().hex,
                user=SOURCE,
                channel=ChannelRef(""),
                source="alertmanager",
                alerts=(alert("fp-race"), alert("fp-race-2", labels={"alertname": "B"})),
            )
            outcome = await app.bot.handle(event)
            assert outcome.report is not None, outcome.reply
            report: IntakeReport = outcome.report
            return report

        reports = await asyncio.gather(*(send(one if i % 2 else two) for i in range(16)))
        async with one.db.reader() as tx:
            count = (await tx.exec(select(func.count()).select_from(Incident))).one()
        assert count == 2
        assert sum(len(r.declared) for r in reports) == 2
        assert sum(r.deduplicated for r in reports) == 30
    finally:
        await one.stop()
        await two.stop()


def write_playbook(folder: Path, name: str, alerts: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\ndescription: test\nroles:\n"
        "  commander: {label: Commander}\n  comms: {label: Comms}\n"
        f"alerts:\n{alerts}",
        encoding="utf-8",
    )


@pytest.fixture
async def routed(tmp_path: Path) -> Any:
    folder = tmp_path / "playbooks"
    write_playbook(
        folder,
        "payments",
        "  - match: {service: payments, env: '~prod|staging'}\n"
        "    action: attach\n    severity_map: {page: SEV1}\n    commander: '@alice'\n",
    )
    write_playbook(folder, "catchall", "  - match: {team: web}\n    default_severity: SEV4\n")
    (folder / "default.yaml").write_text(
        (PLAYBOOKS / "default.yaml").read_text(encoding="utf-8").split("\nalerts:")[0],
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, playbooks_dir=folder)
    app, session = await build_console(settings, clock=ManualClock())
    yield Console(app=app, session=session, clock=ManualClock(), settings=settings)
    await app.stop()


async def test_rules_pick_the_playbook_severity_and_commander(routed: Console) -> None:
    report = await deliver(
        routed, alert("p1", labels={"service": "payments", "env": "prod", "severity": "page"})
    )
    assert report.declared == [1]
    [inc] = await incidents(routed)
    assert (inc.playbook, inc.severity) == ("payments", "SEV1")
    async with routed.app.db.reader() as tx:
        roles = await repo.roles(tx, incident_id=inc.id or 0)
    assert roles["commander"].user_name == "alice"

    # action: attach — a different alert of the same playbook joins the open incident.
    report = await deliver(routed, alert("p2", labels={"service": "payments", "env": "staging"}))
    assert report.attached == 1 and report.incidents == [1]
    # The regex must match the whole value; no rule wants this one (no catch-all here).
    report = await deliver(routed, alert("p3", labels={"service": "payments", "env": "prod-eu"}))
    assert report.ignored == 1 and report.incidents == []
    report = await deliver(routed, alert("w1", labels={"team": "web"}))
    assert report.declared == [2]
    assert (await incidents(routed))[1].severity == "SEV4"


async def test_a_resolve_for_an_unknown_alert_is_ignored(console: Console) -> None:
    report = await deliver(console, alert("never-fired", status="resolved"))
    assert report.ignored == 1 and report.incidents == []
    assert await incidents(console) == []


async def test_no_channel_keeps_the_declared_incident_and_its_alert(console: Console) -> None:
    """The delivery is answered, so its alert is kept: the incident waits for a channel
    (see tests/test_alert_channel_failure.py for the retry and the races)."""
    from bot.service.declare import MAX_NAME_ATTEMPTS

    base = "inc-1-high-error-rate-on-checkout"
    console.session.ws.add_channel(base)
    for n in range(2, MAX_NAME_ATTEMPTS + 1):
        console.session.ws.add_channel(f"{base}-{n}")

    report = await deliver(console, alert())
    assert report.declared == [1] and report.channel_pending == [1] and report.incidents == [1]
    [inc] = await incidents(console)
    assert inc.status == "investigating" and inc.channel_id is None
    assert inc.channel_name is None  # every name was someone else's: none to adopt
    async with console.app.db.reader() as tx:
        assert (await tx.exec(select(func.count()).select_from(AlertRecord))).one() == 1
    assert console.app.bot.deps.metrics.alerts.get("alertmanager", "channel_pending") == 1


async def test_intake_is_counted_in_the_metrics(console: Console) -> None:
    await deliver(console, alert())
    await deliver(console, alert())
    await deliver(console, alert(status="resolved"))
    alerts = console.app.bot.deps.metrics.alerts
    assert alerts.get("alertmanager", "declared") == 1
    assert alerts.get("alertmanager", "deduplicated") == 1
    assert alerts.get("alertmanager", "resolved") == 1
    assert console.app.bot.deps.metrics.alerts_received.get("alertmanager") == 3


async def test_new_alerts_of_one_group_racing_open_one_incident(tmp_path: Path) -> None:
    """Different new fingerprints of one Alertmanager group, delivered at once to two
    replicas (two engines): the first declares, every other one joins it."""
    settings = make_settings(tmp_path)
    one, session = await build_console(settings, clock=ManualClock())
    two, _ = await build_console(settings, clock=ManualClock(), workspace=session.ws)
    group = '{}:{alertname="HighErrorRate"}'
    try:

        async def send(app: Any, n: int) -> IntakeReport:
            event = AlertsReceived(
                key=uuid.uuid4().hex,
                user=SOURCE,
                channel=ChannelRef(""),
                source="alertmanager",
                alerts=(alert(f"pod-{n}", group=group),),
            )
            outcome = await app.bot.handle(event)
            assert outcome.report is not None, outcome.reply
            report: IntakeReport = outcome.report
            return report

        reports = await asyncio.gather(*(send(one if n % 2 else two, n) for n in range(12)))
        async with one.db.reader() as tx:
            count = (await tx.exec(select(func.count()).select_from(Incident))).one()
            rows = (await tx.exec(select(AlertRecord))).all()
        assert count == 1
        assert sum(len(r.declared) for r in reports) == 1
        assert sum(r.attached for r in reports) == 11
        assert len({r.incident_id for r in rows}) == 1 and len(rows) == 12
    finally:
        await one.stop()
        await two.stop()
