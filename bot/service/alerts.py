"""Alert intake: one delivery's alerts declare, join, repeat on, or resolve incidents.

Everything a delivery changes commits in one transaction. An alert is known by its
source and key (`alert` table, unique): a repeat while its incident is open only counts
(on the timeline, not in the channel); a new alert of an open incident's notification
group joins that incident; otherwise its rule declares a new incident (or, with
`action: attach`, joins the newest open one of the rule's playbook). Two deliveries
racing to open the same new alert cannot both insert its row: the loser's transaction
fails on the unique key, is retried, and then finds the winner's incident.

Re-fires and resolves inside the rule's `fold` window are recorded and counted but not
posted again, so a flapping alert cannot flood the channel.

Once a delivery is answered, its alerts stay recorded. If the channel of an incident that
alerts declared cannot be created, the incident is kept without one (`declare.
ChannelPending`: reported under `channel_pending`) and recovery tries again; alerts that
join it meanwhile are posted when the channel exists (`bot.service.alert_posts`).
"""

from __future__ import annotations

import dataclasses
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts.model import Alert, IntakeReport
from bot.alerts.rules import AlertRule, route
from bot.commands import Declare
from bot.domain.status import Status
from bot.effects import EffectRunner
from bot.events import AlertsReceived
from bot.markup import clean_user_text
from bot.playbook import Playbook
from bot.port import UserRef
from bot.service import alert_posts, declare
from bot.service.alert_short_path import short_path, timeline_entry
from bot.service.base import Actor, Deps, Effect
from bot.service.triage import set_status
from storage import alert_store
from storage import repository as repo
from storage.database import ALERT_TARGETS, serialise
from storage.tables import AlertRecord, Incident

log = logging.getLogger("warroom.alerts")
ATTEMPTS = 5


class _NeedPeople(Exception):
    """A declare needs the rule's people, which are looked up outside the transaction."""

    def __init__(self, playbook: Playbook, rule: AlertRule) -> None:
        self.playbook, self.rule = playbook, rule


@dataclass
class _Opening:
    incident_id: int
    number: int
    plan: declare.Plan


@dataclass
class _Work:
    report: IntakeReport = field(default_factory=IntakeReport)
    openings: list[_Opening] = field(default_factory=list)
    effects: dict[int, list[Effect]] = field(default_factory=dict)
    changed: set[int] = field(default_factory=set)
    waiting: set[int] = field(default_factory=set)  # joined incidents that had no channel


People = tuple[dict[str, Any], list[Any]]
Routed = tuple[Playbook, AlertRule]


async def receive(
    deps: Deps, runner: EffectRunner, event: AlertsReceived
) -> tuple[IntakeReport, list[int]]:
    """Record a delivery, then open channels and post. Returns the report and the ids of
    incidents whose due times may have changed."""
    actor = Actor(
        user=event.user, channel=event.channel, at=event.at or deps.clock.now(), system=True
    )
    event = dataclasses.replace(event, alerts=tuple(_clean(a) for a in event.alerts))
    short = await short_path(deps, event, actor)
    if short is not None:
        report, posts, waiting = short
        for incident_id, effect in posts:
            await runner.run(effect, incident_id=incident_id)
        for incident_id in sorted(waiting):
            await alert_posts.post_waiting(deps, runner, incident_id=incident_id)
        _count(deps, event.source, report)
        return report, []
    people: dict[int, People] = {}
    for attempt in range(ATTEMPTS):
        try:
            async with deps.db.transaction() as tx:
                work = await _ingest(tx, deps, event, actor, people)
            break
        except _NeedPeople as need:
            people[id(need.rule)] = await declare.people(
                deps, need.playbook, actor, commander=need.rule.commander, comms=need.rule.comms
            )
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
            log.info("a concurrent delivery recorded the same alert first; retrying")
        except DBAPIError as exc:
            if not _transient(exc) or attempt == ATTEMPTS - 1:
                raise
            log.info("alert delivery hit a deadlock with another replica; retrying")
    else:  # pragma: no cover - people needed for more rules than attempts
        raise RuntimeError("alert delivery needed too many lookups")
    for opening in work.openings:
        try:
            await declare.open_and_spread(
                deps,
                runner,
                incident_id=opening.incident_id,
                number=opening.number,
                event_key="",
                p=opening.plan,
                actor=actor,
            )
        except declare.ChannelPending:  # kept, with its alerts; recovery tries again
            work.report.channel_pending.append(opening.number)
    for incident_id, effects in work.effects.items():
        await runner.run_all(effects, incident_id=incident_id)
    for incident_id in sorted(work.waiting):  # a channel made since they joined
        await alert_posts.post_waiting(deps, runner, incident_id=incident_id)
    _count(deps, event.source, work.report)
    return work.report, sorted(work.changed)


def _clean(alert: Alert) -> Alert:
    """Monitoring text is user text: no control characters (and so no forged mentions)."""
    links = "\n".join(f"{link.label}: {link.url}" for link in alert.links)
    summary = clean_user_text(alert.summary).strip()
    return dataclasses.replace(
        alert,
        title=" ".join(clean_user_text(alert.title).split()) or alert.key,
        summary="\n\n".join(part for part in (summary, links) if part),
        labels={k: clean_user_text(v) for k, v in alert.labels.items()},
    )


def _count(deps: Deps, source: str, report: IntakeReport) -> None:
    counter = deps.metrics.alerts
    deps.metrics.alerts_received.inc(source, by=report.received)
    for result, n in (
        ("declared", len(report.declared)),
        ("attached", report.attached),
        ("deduplicated", report.deduplicated),
        ("resolved", report.resolved),
        ("ignored", report.ignored),
        ("channel_pending", len(report.channel_pending)),
    ):
        if n:
            counter.inc(source, result, by=n)


async def _ingest(
    tx: AsyncSession, deps: Deps, event: AlertsReceived, actor: Actor, people: dict[int, People]
) -> _Work:
    work = _Work(report=IntakeReport(received=len(event.alerts)))
    routes = [route(deps.playbooks, alert) for alert in event.alerts]
    await _serialise_targets(tx, event.alerts, routes)
    for alert, routed in zip(event.alerts, routes, strict=True):
        if routed is None:
            work.report.ignored += 1
            continue
        playbook, rule = routed
        row = await alert_store.by_key(tx, source=alert.source, key=alert.key)
        incident = (
            await repo.incident_by_id(tx, incident_id=row.incident_id, lock=True) if row else None
        )
        if incident is not None and incident.status not in repo.OPEN_STATUSES:
            incident = None
        if alert.status == "resolved":
            await _resolved(tx, deps, work, alert, rule, row, incident, actor)
        elif row is not None and incident is not None:
            await _repeat(tx, deps, work, alert, rule, row, incident, actor)
        else:
            await _new(tx, deps, work, alert, playbook, rule, row, actor, people)
    return work


def _note(
    tx: AsyncSession, incident: Incident, alert: Alert, actor: Actor, what: str, **data: Any
) -> None:
    assert incident.id is not None
    repo.add_timeline(tx, **timeline_entry(incident.id, alert, actor, what, **data))


def _post(deps: Deps, work: _Work, incident: Incident, alert: Alert, what: str, count: int) -> bool:
    """Queue the alert's message; False (nothing to post) while the incident has no channel."""
    assert incident.id is not None
    effect = alert_posts.post(deps, incident, alert, what, count)
    if effect is not None:
        work.effects.setdefault(incident.id, []).append(effect)
    return effect is not None


def _folded(row: AlertRecord, rule: AlertRule, at: datetime) -> bool:
    return row.last_posted is not None and at - row.last_posted < rule.fold


async def _repeat(
    tx: AsyncSession,
    deps: Deps,
    work: _Work,
    alert: Alert,
    rule: AlertRule,
    row: AlertRecord,
    incident: Incident,
    actor: Actor,
) -> None:
    """The alert fires again while its incident is open: count it, never a second incident."""
    row.fire_count += 1
    row.last_seen = actor.at
    work.report.deduplicated += 1
    _touched(work, incident)
    if row.status == "firing":
        _note(tx, incident, alert, actor, "repeated", count=row.fire_count)
        return
    row.status, row.last_change = "firing", actor.at
    row.flaps += 1
    _note(tx, incident, alert, actor, "fired again", count=row.fire_count, flaps=row.flaps)
    if not _folded(row, rule, actor.at) and _post(
        deps, work, incident, alert, "fired again", row.fire_count
    ):
        row.last_posted = actor.at


async def _resolved(
    tx: AsyncSession,
    deps: Deps,
    work: _Work,
    alert: Alert,
    rule: AlertRule,
    row: AlertRecord | None,
    incident: Incident | None,
    actor: Actor,
) -> None:
    if row is None or incident is None:
        work.report.ignored += 1  # nobody tracks it, or its incident is over
        if row is not None:
            row.status, row.last_seen = "resolved", actor.at
        return
    row.last_seen = actor.at
    if row.status == "resolved":
        work.report.deduplicated += 1
        return
    row.status, row.last_change = "resolved", actor.at
    work.report.resolved += 1
    _touched(work, incident)
    _note(tx, incident, alert, actor, "resolved", count=row.fire_count)
    if (not _folded(row, rule, actor.at) or row.flaps == 0) and _post(
        deps, work, incident, alert, "resolved", row.fire_count
    ):
        row.last_posted = actor.at
    await tx.flush()
    if rule.on_resolve == "monitoring" and incident.status in ("investigating", "identified"):
        assert incident.id is not None
        rows = await alert_store.of_incident(tx, incident_id=incident.id)
        if all(r.status == "resolved" for r in rows):
            # Named, not mentioned: the source is not a person on the chat platform.
            source = Actor(
                user=UserRef("", actor.user.name), channel=actor.channel, at=actor.at, system=True
            )
            result = await set_status(tx, deps, incident, source, target=Status.MONITORING)
            _touched(work, incident, reschedule=True)
            work.effects.setdefault(incident.id, []).extend(result.effects)


async def _new(
    tx: AsyncSession,
    deps: Deps,
    work: _Work,
    alert: Alert,
    playbook: Playbook,
    rule: AlertRule,
    row: AlertRecord | None,
    actor: Actor,
    people: dict[int, People],
) -> None:
    """A firing alert without an open incident: join its group's, or the rule's, or declare."""
    target = await alert_store.open_incident_of_group(
        tx, source=alert.source, group_key=alert.group
    )
    if target is None and rule.action == "attach":
        target = await alert_store.newest_open_incident(tx, playbook=playbook.name)
    if target is not None:
        assert target.id is not None
        posted = _post(deps, work, target, alert, "attached", 1)
        _remember(tx, row, alert, target, actor, posted=posted)
        if not posted:  # posted once the channel exists (`alert_posts.post_waiting`)
            work.waiting.add(target.id)
        work.report.attached += 1
        _touched(work, target)
        _note(tx, target, alert, actor, "attached")
        return
    found = people.get(id(rule))
    if found is None:
        raise _NeedPeople(playbook, rule)
    roles, responders = found
    plan = declare.Plan(
        playbook=playbook,
        severity=rule.severity(alert, deps.severities),
        title=alert.title,
        roles=roles,
        responders=responders,
    )
    command = Declare(
        title=alert.title,
        severity=plan.severity.name,
        playbook=playbook.name,
        summary=alert.summary,
    )
    incident = await declare.record(tx, deps, command, actor, plan)
    assert incident.id is not None
    _remember(tx, row, alert, incident, actor, posted=True)  # the card shows it
    _note(tx, incident, alert, actor, "declared")
    work.report.declared.append(incident.number)
    _touched(work, incident, reschedule=True)
    work.openings.append(_Opening(incident.id, incident.number, dataclasses.replace(plan)))


async def _serialise_targets(
    tx: AsyncSession, alerts: Sequence[Alert], routes: Sequence[Routed | None]
) -> None:
    """Two deliveries of different new alerts of one group (or of one `attach` playbook)
    must not both find no incident and both declare. On PostgreSQL they take turns: each
    takes its groups' and playbooks' advisory locks first, before touching any row, and
    in one global order, so that replicas cannot deadlock on them. (SQLite's write lock
    already serialises whole deliveries.)"""
    keys: set[int] = set()
    for alert, routed in zip(alerts, routes, strict=True):
        if routed is None or alert.status != "firing":
            continue
        if alert.group:
            keys.add(_lock_key(alert.source, alert.group))
        if routed[1].action == "attach":
            keys.add(_lock_key("playbook", routed[0].name))
    conn = await tx.connection()
    for key in sorted(keys):
        await serialise(conn, lock=ALERT_TARGETS, on=key)


def _transient(exc: DBAPIError) -> bool:
    """A deadlock or serialisation failure (PostgreSQL 40P01 / 40001): worth a retry."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "deadlock detected" in str(exc.orig)


def _lock_key(kind: str, name: str) -> int:
    """A stable 31-bit key for an advisory lock on one group or playbook."""
    return zlib.crc32(f"{kind}\0{name}".encode()) & 0x7FFFFFFF


def _remember(
    tx: AsyncSession,
    row: AlertRecord | None,
    alert: Alert,
    incident: Incident,
    actor: Actor,
    *,
    posted: bool,
) -> None:
    """Point the alert's row at its (new) incident; insert it if it's the first time.
    `posted`: its message went out (else it waits for the incident's channel)."""
    assert incident.id is not None
    if row is None:
        row = AlertRecord(
            source=alert.source,
            key=alert.key,
            first_seen=actor.at,
            last_seen=actor.at,
            last_change=actor.at,
            incident_id=incident.id,
            status="firing",
        )
    row.group_key = alert.group
    row.incident_id = incident.id
    row.status = "firing"
    row.title, row.severity, row.labels = alert.title, alert.severity, dict(alert.labels)
    row.links = alert_posts.links(alert)
    row.fire_count, row.flaps = 1, 0
    row.last_seen = row.last_change = actor.at
    row.last_posted = actor.at if posted else None
    tx.add(row)


def _touched(work: _Work, incident: Incident, *, reschedule: bool = False) -> None:
    """Report the incident; `reschedule` when its due times may have changed."""
    assert incident.id is not None
    if reschedule:
        work.changed.add(incident.id)
    if incident.number not in work.report.incidents:
        work.report.incidents.append(incident.number)
