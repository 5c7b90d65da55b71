"""Firing what is due: update reminders, their escalation, summaries, checklist steps.

`fire_due` is the one place timers act. It claims each due item with a conditional
UPDATE (`WHERE id = :id AND due_at = :seen`), records the firing on the timeline in the
same transaction, and posts after commit. A second process that saw the same item
finds it already claimed and posts nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, tuple_, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import reminders
from bot.domain.durations import humanize
from bot.domain.status import Status
from bot.domain.timeline import EventKind
from bot.effects import EffectRunner
from bot.markup import mention
from bot.port import Button, ButtonStyle, RichMessage
from bot.service import notices
from bot.service.base import Deps, Effect, lookup_user
from bot.summaries import Summarizer, has_activity
from bot.views import IncidentView, build_view
from storage import repository as repo
from storage.tables import DueItem, Incident, RoleAssignment, Task, TimelineEntry
from storage.types import UTCDateTime

log = logging.getLogger("warroom.rhythm")
BATCH = 200


@dataclass(frozen=True, slots=True)
class Fired:
    item_id: int
    incident_id: int
    kind: str
    due_at: datetime
    fired_at: datetime
    posted: bool


async def fire_due(
    deps: Deps,
    runner: EffectRunner,
    *,
    now: datetime | None = None,
    summarizer: Summarizer | None = None,
) -> list[Fired]:
    """Fire every item due at `now` (default: the clock). Returns what this process fired."""
    now = now or deps.clock.now()
    summarizer = summarizer or deps.summarizer
    fired: list[Fired] = []
    while True:
        async with deps.db.reader() as tx:
            stmt = (
                select(DueItem.id, DueItem.due_at)
                .where(col(DueItem.due_at) <= now)
                .order_by(col(DueItem.due_at))
                .limit(BATCH)
            )
            due = [(i, d) for i, d in (await tx.exec(stmt)).all() if i is not None and d]
        if not due:
            return fired
        effects: list[tuple[int, Effect]] = []
        batch: list[Fired] = []
        async with deps.db.transaction() as tx:
            for record, planned in await _claim_and_plan(tx, deps, summarizer, due, now):
                batch.append(record)
                effects.extend((record.incident_id, e) for e in planned)
        fired.extend(batch)
        for record in batch:
            if record.posted:
                deps.metrics.reminders_sent.inc(record.kind)
                late = (record.fired_at - record.due_at).total_seconds()
                deps.metrics.reminder_lateness.observe(max(late, 0.0))
        for incident_id, effect in effects:
            await runner.run(effect, incident_id=incident_id)
        if len(due) < BATCH:
            return fired


async def _claim_and_plan(
    tx: AsyncSession,
    deps: Deps,
    summarizer: Summarizer,
    due: list[tuple[int, datetime]],
    now: datetime,
) -> list[tuple[Fired, list[Effect]]]:
    """Claim a batch of items in one statement, then plan each claimed one, in `due` order.

    Statements are per batch, not per item (the claim, the incidents with their roles and
    tasks, the next due times); summaries still read their own stretch of the timeline.
    """
    conn = await tx.connection()
    table = DueItem.__table__  # type: ignore[attr-defined]
    # Lock the items' incidents first (key-share: PostgreSQL; on SQLite the write
    # transaction holds the whole file), as every other writer of due items does: a
    # command locks its incident and then changes them; declare records the channel and
    # then re-arms them. Claimed first, with the incident locked only later (by the
    # timeline insert's foreign key), the claim deadlocked against such a command, and a
    # re-arm could pass over a claim it could not see yet, leaving the item stuck.
    await conn.execute(_lock_incidents_statement(), {"items": [item_id for item_id, _ in due]})
    # Claim: only the process whose conditional UPDATE matches an item goes on with it.
    # `(id, due_at) IN (...)` is the per-item `id = :id AND due_at = :seen`, batched.
    claim = (
        update(table)
        .where(
            table.c.id.in_([item_id for item_id, _ in due]),
            tuple_(table.c.id, table.c.due_at).in_(due),
        )
        .values(due_at=None, fired_count=table.c.fired_count + 1, last_fired_at=now)
        .returning(
            *(table.c[n] for n in ("id", "incident_id", "kind", "ref", "fired_count", "cursor"))
        )
    )
    claimed = {row[0]: row[1:] for row in (await conn.execute(claim)).all()}
    if not claimed:
        return []
    incident_ids = sorted({incident_id for incident_id, *_ in claimed.values()})
    incidents = {
        i.id: i
        for i in (await tx.exec(select(Incident).where(col(Incident.id).in_(incident_ids)))).all()
    }
    live = [
        i
        for i in incidents.values()
        if Status(i.status).is_open and i.channel_id and deps.playbook_for(i) is not None
    ]
    views = await _views(tx, deps, live)
    planned: list[tuple[Fired, list[Effect]]] = []
    next_due: list[dict[str, Any]] = []
    for item_id, seen in due:
        if item_id not in claimed:
            continue
        incident_id, kind, ref, fired_count, cursor = claimed[item_id]
        incident = incidents.get(incident_id)
        assert incident is not None and incident.id is not None
        playbook = deps.playbook_for(incident)
        due_next: datetime | None = None
        effects: list[Effect] = []
        view = views.get(incident.id)
        if view is not None and playbook is not None:
            if kind == reminders.UPDATE:
                every = playbook.cadence(incident.severity)
                due_next = now + every if every else None
                # fired_count includes this nudge; the ones before it went unanswered.
                effects = _update_reminder(tx, deps, incident, view, fired_count, seen, now)
            elif kind == reminders.SUMMARY:
                every = playbook.summary_cadence
                due_next = now + every if every else None
                message, cursor = await summary_message(
                    tx, deps, incident, view, summarizer, since_id=cursor, heading="auto", now=now
                )
                if message is not None:
                    effects = [notices.post(deps, incident, message, "post the channel summary")]
                    repo.add_timeline(
                        tx,
                        incident_id=incident.id,
                        at=now,
                        kind=EventKind.SUMMARY,
                        text="automatic summary",
                        data={"cursor": cursor},
                    )
            elif kind == reminders.CHECKLIST and int(ref) < len(playbook.checklist):
                step = playbook.checklist[int(ref)]
                message = deps.renderer.message("checklist_due", incident=view, step=step)
                effects = [notices.post(deps, incident, message, "post the checklist reminder")]
                repo.add_timeline(
                    tx,
                    incident_id=incident.id,
                    at=now,
                    kind=EventKind.CHECKLIST_DUE,
                    text=step.text,
                    data={"step": int(ref)},
                )
        next_due.append({"item": item_id, "next_due": due_next, "next_cursor": cursor})
        record = Fired(
            item_id=item_id,
            incident_id=incident.id,
            kind=kind,
            due_at=seen,
            fired_at=now,
            posted=bool(effects),
        )
        planned.append((record, effects))
    await conn.execute(_reschedule_statement(), next_due)
    return planned


@cache
def _lock_incidents_statement() -> Any:
    items = DueItem.__table__  # type: ignore[attr-defined]
    incidents = Incident.__table__  # type: ignore[attr-defined]
    owners = core_select(items.c.incident_id).where(
        items.c.id.in_(bindparam("items", expanding=True))
    )
    return (
        core_select(incidents.c.id)
        .where(incidents.c.id.in_(owners))
        .order_by(incidents.c.id)
        .with_for_update(read=True, key_share=True)
    )


@cache
def _reschedule_statement() -> Any:
    table = DueItem.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(table.c.id == bindparam("item"))
        .values(
            due_at=bindparam("next_due", type_=UTCDateTime()),
            cursor=bindparam("next_cursor"),
        )
    )


async def _views(
    tx: AsyncSession, deps: Deps, incidents: Sequence[Incident]
) -> dict[int, IncidentView]:
    """`load_view(..., with_tasks=True)` of many incidents: one query for roles, one for tasks."""
    ids = [i.id for i in incidents if i.id is not None]
    if not ids:
        return {}
    roles: dict[int, dict[str, RoleAssignment]] = defaultdict(dict)
    stmt = select(RoleAssignment).where(col(RoleAssignment.incident_id).in_(ids))
    for role in (await tx.exec(stmt)).all():
        roles[role.incident_id][role.role] = role
    tasks: dict[int, list[Task]] = defaultdict(list)
    by_number = select(Task).where(col(Task.incident_id).in_(ids)).order_by(col(Task.number))
    for task in (await tx.exec(by_number)).all():
        tasks[task.incident_id].append(task)
    return {
        i.id: build_view(i, playbook=deps.playbook_for(i), roles=roles[i.id], tasks=tasks[i.id])
        for i in incidents
        if i.id is not None
    }


def _update_reminder(
    tx: AsyncSession,
    deps: Deps,
    incident: Incident,
    view: IncidentView,
    sent: int,
    due: datetime,
    now: datetime,
) -> list[Effect]:
    assert incident.id is not None
    playbook = deps.playbook_for(incident)
    assert playbook is not None
    every = playbook.cadence(incident.severity)
    last = incident.last_update_at
    missed = sent - 1  # reminders already sent without an update since
    escalate = missed >= playbook.reminders.escalate_after
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=now,
        kind=EventKind.REMINDER,
        text=f"update reminder #{sent}" + (" (escalated)" if escalate else ""),
        data={"reminder": sent, "missed": missed, "escalated": escalate, "due_at": due.isoformat()},
    )
    targets = [r.user_id for r in (view.commander, view.comms) if r and r.user_id]
    buttons = (
        Button("Post update", "incident.post_update", str(incident.number), ButtonStyle.PRIMARY),
        Button("Snooze 30m", "incident.snooze", f"{incident.number}:30m"),
    )
    ctx: dict[str, Any] = dict(
        incident=view,
        missed=missed,
        sent=sent,
        command=deps.options.command_name,
        cadence=humanize(every) if every else "",
        since=humanize(now - (last or incident.declared_at)),
        last_update=last,
        targets=list(dict.fromkeys(targets)),
    )
    if not escalate:
        message = deps.renderer.message("reminder", buttons=buttons, **ctx)
        return [notices.post(deps, incident, message, "post the update reminder")]

    async def escalated_message() -> RichMessage:
        extra = [await _resolve_target(deps, view, t) for t in playbook.reminders.escalate_to]
        return deps.renderer.message(
            "reminder_escalated", buttons=buttons, escalate_to=[e for e in extra if e], **ctx
        )

    async def in_channel() -> None:
        if incident.channel_id:
            message = await escalated_message()
            await deps.port.post_message(channel_id=incident.channel_id, message=message)

    async def announced() -> None:
        if incident.announce_channel_id and not (incident.private or incident.drill):
            message = await escalated_message()
            await deps.port.post_message(channel_id=incident.announce_channel_id, message=message)

    # Two effects: a failure in one place never keeps the escalation from the other.
    return [
        Effect("post the escalated update reminder", in_channel),
        Effect("announce the escalated update reminder", announced),
    ]


async def _resolve_target(deps: Deps, view: IncidentView, target: str) -> str:
    role = view.role(target)
    if role is not None:
        return mention(role.user_id) if role.user_id else ""
    user = await lookup_user(deps, target)
    return mention(user.id) if user else target


async def summary_message(
    tx: AsyncSession,
    deps: Deps,
    incident: Incident,
    view: IncidentView,
    summarizer: Summarizer,
    *,
    since_id: int,
    heading: str,
    force: bool = False,
    now: datetime | None = None,
) -> tuple[RichMessage | None, int]:
    """The summary of what happened after timeline entry `since_id` (None if nothing did)."""
    assert incident.id is not None
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident.id, col(TimelineEntry.id) > since_id)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    )
    entries = (await tx.exec(stmt)).all()
    cursor = max((e.id or 0 for e in entries), default=since_id)
    if not force and not has_activity(entries):
        return None, cursor
    summary = summarizer.summarize(view=view, entries=entries)
    if not force and summary.empty:  # e.g. only a join or a snooze: nothing to report
        return None, cursor
    total_messages = await repo.count_timeline(tx, incident_id=incident.id, kind=EventKind.CHAT)
    sev = deps.severities.find(incident.severity)
    message = deps.renderer.message(
        "summary",
        incident=view,
        summary=summary,
        heading=heading,
        duration=humanize((now or deps.clock.now()) - incident.declared_at),
        total_messages=total_messages,
        colour=sev.colour if sev else "",
    )
    return message, cursor
