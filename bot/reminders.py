"""The update rhythm: when updates, summaries and checklist steps fall due.

Due times live in the `due_item` table. These functions change them inside the caller's
transaction; `bot.rhythm` fires what is due, and `bot.scheduler` only wakes it up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.status import Status
from bot.playbook import Playbook
from storage.tables import DueItem, Incident

UPDATE = "update"
SUMMARY = "summary"
CHECKLIST = "checklist"
MAX_SNOOZE = timedelta(hours=24)


def wants_reminders(incident: Incident, playbook: Playbook | None) -> bool:
    # A resolved or closed incident is stopped: an update posted after the resolve
    # must not start the timers again.
    if playbook is None or not Status(incident.status).is_open:
        return False
    return not incident.drill or playbook.reminders.include_drills


async def _item(tx: AsyncSession, incident_id: int, kind: str, ref: str = "") -> DueItem:
    stmt = select(DueItem).where(
        DueItem.incident_id == incident_id, DueItem.kind == kind, DueItem.ref == ref
    )
    item = (await tx.exec(stmt)).first()
    if item is None:
        item = DueItem(incident_id=incident_id, kind=kind, ref=ref)
    return item


async def items(tx: AsyncSession, *, incident_id: int) -> Sequence[DueItem]:
    stmt = select(DueItem).where(DueItem.incident_id == incident_id).order_by(col(DueItem.id))
    return (await tx.exec(stmt)).all()


async def _set(
    tx: AsyncSession,
    incident_id: int,
    kind: str,
    due: datetime | None,
    *,
    ref: str = "",
    reset: bool = False,
) -> DueItem:
    item = await _item(tx, incident_id, kind, ref)
    item.due_at = due
    if reset:
        item.fired_count = 0
    tx.add(item)
    return item


async def arm(
    tx: AsyncSession, incident: Incident, playbook: Playbook | None, *, at: datetime
) -> None:
    """At declare (and reopen): the first update, summary and checklist due times."""
    if not await updated(tx, incident, playbook, at=at):
        return
    assert incident.id is not None and playbook is not None
    if playbook.summary_cadence:
        await _set(tx, incident.id, SUMMARY, at + playbook.summary_cadence)
    if incident.declared_at == at:
        for index, step in enumerate(playbook.checklist):
            if step.after:
                await _set(
                    tx, incident.id, CHECKLIST, incident.declared_at + step.after, ref=str(index)
                )


async def updated(
    tx: AsyncSession, incident: Incident, playbook: Playbook | None, *, at: datetime
) -> bool:
    """An update was posted: the next one is owed a full cadence from now.

    Returns False when the incident gets no reminders at all (closed, or a drill)."""
    assert incident.id is not None
    if not wants_reminders(incident, playbook):
        return False
    assert playbook is not None
    every = playbook.cadence(incident.severity)
    await _set(tx, incident.id, UPDATE, at + every if every else None, reset=True)
    return True


async def severity_changed(
    tx: AsyncSession,
    incident: Incident,
    playbook: Playbook | None,
    *,
    escalated: bool,
    at: datetime,
) -> None:
    """Recompute at once. Escalating never pushes the due time later; it usually pulls it in."""
    assert incident.id is not None
    if not wants_reminders(incident, playbook):
        return
    assert playbook is not None
    every = playbook.cadence(incident.severity)
    item = await _item(tx, incident.id, UPDATE)
    if every is None:
        item.due_at = None
    else:
        base = incident.last_update_at or incident.declared_at
        due = max(base + every, at)
        if item.due_at is None:
            due = at + every  # the old level owed no updates: start a full cadence now
        elif escalated:
            due = min(item.due_at, at + every)
        item.due_at = due
    tx.add(item)


async def summary_item(tx: AsyncSession, *, incident_id: int) -> DueItem:
    """The incident's summary row (created on first use): it holds the summary cursor."""
    return await _item(tx, incident_id, SUMMARY)


async def snooze(tx: AsyncSession, incident: Incident, *, until: datetime) -> DueItem:
    assert incident.id is not None
    item = await _item(tx, incident.id, UPDATE)
    # Snoozing acknowledges the reminders so far, and never brings the next one closer.
    item.due_at = max(until, item.due_at) if item.due_at else until
    item.fired_count = 0
    tx.add(item)
    return item


async def stop(tx: AsyncSession, incident: Incident) -> None:
    """Resolve and close stop every reminder, summary and checklist timer."""
    assert incident.id is not None
    for item in await items(tx, incident_id=incident.id):
        if item.due_at is not None:
            item.due_at = None
            tx.add(item)
