"""Updates, notes, tasks and the timeline view."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import reminders
from bot.describe import describe
from bot.domain.status import Status
from bot.domain.text import has_visible
from bot.domain.timeline import EventKind
from bot.errors import UserError
from bot.limits import shorten
from bot.markup import clean_user_text
from bot.paging import ROW_TEXT, TASKS_PAGE, TIMELINE_PAGE, page
from bot.port import RichMessage
from bot.service import notices, surfaces
from bot.service.base import Actor, Deps, Result, load_view, resolve_user, touch
from bot.views import incident_ref, task_views
from storage import repository as repo
from storage.repository import Executor, IncidentKey
from storage.tables import Incident, Task

MAX_TEXT = 3000
# A timeline line: the entry's wording plus up to ROW_TEXT characters of what was said.
TIMELINE_LINE = ROW_TEXT + 30


def _text(text: str, what: str) -> str:
    cleaned = clean_user_text(text).strip()
    if not cleaned:
        raise UserError(f"The {what} is empty.")
    if not has_visible(cleaned):
        raise UserError(
            f"The {what} has no visible characters (only zero-width, direction or other "
            "invisible characters)."
        )
    if len(cleaned) > MAX_TEXT:
        raise UserError(f"The {what} is {len(cleaned)} characters; the limit is {MAX_TEXT}.")
    return cleaned


def _require_not_closed(incident: Incident | IncidentKey, what: str) -> None:
    """A closed incident is final: its channel is archived and its record is done."""
    if incident.status == Status.CLOSED:
        raise UserError(f"{incident_ref(incident.number)} is closed; it takes no more {what}.")


async def post_update(
    tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor, *, text: str
) -> Result:
    body = _text(text, "update")
    if incident.status == Status.CLOSED:
        raise UserError(f"{incident_ref(incident.number)} is closed; it takes no more updates.")
    assert incident.id is not None
    incident.latest_update = body
    incident.last_update_at = actor.at
    await reminders.updated(tx, incident, deps.playbook_for(incident), at=actor.at)
    touch(incident, actor.at)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.UPDATE,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=body,
    )
    view = await load_view(tx, deps, incident)
    sev = deps.severities.find(incident.severity)
    message = deps.renderer.message(
        "update",
        incident=view,
        text=body,
        actor=actor.user,
        at=actor.at,
        colour=sev.colour if sev else "",
    )
    return Result(
        reschedule=True,
        effects=[
            notices.post(deps, incident, message, "post the update in the incident channel"),
            notices.broadcast(deps, incident, message, "broadcast the update"),
            surfaces.refresh(deps, incident.id),
        ],
    )


async def add_note(
    tx: Executor, deps: Deps, incident: IncidentKey, actor: Actor, *, text: str
) -> Result:
    _require_not_closed(incident, "notes")
    body = _text(text, "note")
    assert incident.id is not None
    await repo.insert_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.NOTE,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=body,
    )
    return Result(
        reply=RichMessage(
            text=deps.renderer.text("note_added.j2", incident=_Ref(incident_ref(incident.number)))
        )
    )


@dataclass(frozen=True, slots=True)
class _Ref:
    ref: str


async def add_task(
    tx: AsyncSession,
    deps: Deps,
    incident: Incident,
    actor: Actor,
    *,
    text: str,
    owner_ref: str | None,
) -> Result:
    _require_not_closed(incident, "tasks")
    body = _text(text, "task")
    owner = await resolve_user(deps, owner_ref) if owner_ref else None
    assert incident.id is not None
    number = await repo.next_task_number(tx, incident_id=incident.id)
    task = Task(
        incident_id=incident.id,
        number=number,
        text=body,
        owner_id=owner.id if owner else None,
        owner_name=owner.name if owner else "",
        created_by_id=actor.user.id,
        created_at=actor.at,
    )
    tx.add(task)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.TASK_ADDED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=body,
        data={"task": number, "owner_id": task.owner_id, "owner_name": task.owner_name},
    )
    message = deps.renderer.message("task_added", actor=actor.user, task=task)
    effects = [notices.post(deps, incident, message, "announce the new task")]
    if owner is not None:
        effects.insert(0, notices.invite(deps, incident, [owner.id]))
    return Result(effects=effects)


async def complete_task(
    tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor, *, number: int
) -> Result:
    _require_not_closed(incident, "task changes")
    assert incident.id is not None
    task = await repo.task_by_number(tx, incident_id=incident.id, number=number)
    if task is None:
        total, _ = await repo.count_tasks(tx, incident_id=incident.id)  # numbered 1..total
        listing = (
            "none yet"
            if not total
            else ", ".join(str(n) for n in range(1, total + 1))
            if total <= 10
            else f"1 to {total}"
        )
        raise UserError(f"There is no task #{number}. Tasks: {listing}.", usage="task done <n>")
    if task.done:
        raise UserError(f"Task #{number} is already done.")
    task.done, task.done_at = True, actor.at
    tx.add(task)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.TASK_DONE,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=task.text,
        data={"task": number},
    )
    message = deps.renderer.message("task_done", actor=actor.user, task=task)
    return Result(effects=[notices.post(deps, incident, message, "announce the finished task")])


async def list_tasks(
    tx: AsyncSession, deps: Deps, incident: Incident, *, number: int = 1
) -> Result:
    """Page `number` of the incident's tasks, `TASKS_PAGE` to a page, by task number.
    Only that page is read: however many tasks there are, the cost stays the same."""
    assert incident.id is not None
    total, still_open = await repo.count_tasks(tx, incident_id=incident.id)
    command = f"/{deps.options.command_name} tasks"
    shown = page(number, size=TASKS_PAGE, total=total, what="tasks", command=command)
    rows = await repo.tasks(tx, incident_id=incident.id, limit=shown.size, offset=shown.offset)
    view = await load_view(tx, deps, incident)
    tasks = [dataclasses.replace(t, text=shorten(t.text, ROW_TEXT)) for t in task_views(rows)]
    return Result(
        reply=deps.renderer.message(
            "tasks",
            incident=view,
            tasks=tasks,
            open_count=still_open,
            page=shown,
            command=command,
        )
    )


@dataclass(frozen=True, slots=True)
class TimelineLine:
    at: datetime
    line: str


async def show_timeline(
    tx: AsyncSession, deps: Deps, incident: Incident, *, number: int = 1
) -> Result:
    """Page `number` of the timeline, counted back from the newest entry: page 1 is the
    latest `TIMELINE_PAGE` entries, page 2 the ones before them."""
    assert incident.id is not None
    total = await repo.count_timeline(tx, incident_id=incident.id)
    command = f"/{deps.options.command_name} timeline"
    shown = page(number, size=TIMELINE_PAGE, total=total, what="the timeline", command=command)
    entries = await repo.latest_timeline(
        tx, incident_id=incident.id, limit=shown.size, offset=shown.offset
    )
    view = await load_view(tx, deps, incident)
    lines = [TimelineLine(at=e.at, line=shorten(describe(e), TIMELINE_LINE)) for e in entries]
    return Result(
        reply=deps.renderer.message(
            "timeline",
            incident=view,
            entries=lines,
            omitted=total - shown.offset - len(lines),
            total=total,
            page=shown,
            command=command,
        )
    )
