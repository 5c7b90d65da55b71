"""Severity, status and roles."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import reminders
from bot.domain import status as lifecycle
from bot.domain.severity import Severity
from bot.domain.status import Status
from bot.domain.suggest import closest
from bot.domain.timeline import EventKind
from bot.errors import UserError
from bot.service import notices, surfaces
from bot.service.base import Actor, Deps, Result, resolve_user, touch
from bot.views import incident_ref
from storage import repository as repo
from storage.tables import Incident


def _require_open(incident: Incident, doing: str) -> None:
    if not Status(incident.status).is_open:
        raise UserError(
            f"{incident_ref(incident.number)} is {incident.status}; you can't {doing} now."
            + (" Use `reopen` first." if incident.status == Status.RESOLVED else "")
        )


async def set_severity(
    tx: AsyncSession,
    deps: Deps,
    incident: Incident,
    actor: Actor,
    *,
    target: Severity,
    reason: str = "",
) -> Result:
    _require_open(incident, "change the severity")
    old = deps.severities.get(incident.severity)
    if target.name == old.name:
        raise UserError(f"{incident_ref(incident.number)} is already {old.name}.")
    assert incident.id is not None
    incident.severity = target.name
    touch(incident, actor.at)
    escalated = target.rank < old.rank
    await reminders.severity_changed(
        tx, incident, deps.playbook_for(incident), escalated=escalated, at=actor.at
    )
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.SEVERITY,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=f"{old.name} → {target.name}" + (f" ({reason})" if reason else ""),
        data={"old": old.name, "new": target.name, "escalated": escalated},
    )
    message = deps.renderer.message(
        "severity_changed",
        actor=actor.user,
        old=old.name,
        new=target.name,
        escalated=escalated,
        reason=reason,
        colour=target.colour,
    )
    return Result(
        reschedule=True,
        effects=[
            notices.post(deps, incident, message, "announce the severity change"),
            surfaces.refresh(deps, incident.id),
        ],
    )


async def escalate(
    tx: AsyncSession,
    deps: Deps,
    incident: Incident,
    actor: Actor,
    *,
    up: bool,
    reason: str = "",
) -> Result:
    _require_open(incident, "change the severity")
    step = deps.severities.escalate if up else deps.severities.deescalate
    return await set_severity(
        tx, deps, incident, actor, target=step(incident.severity), reason=reason
    )


def _stamp(incident: Incident, target: Status, actor: Actor) -> None:
    """Milestones stay in order: a fix being monitored was also acknowledged, so moving
    straight to monitoring stamps `identified_at` too (as resolving stamps both)."""
    match target:
        case Status.IDENTIFIED | Status.MONITORING:
            incident.identified_at = incident.identified_at or actor.at
            if target == Status.MONITORING:
                incident.monitoring_at = incident.monitoring_at or actor.at
        case Status.RESOLVED:
            incident.resolved_at = actor.at
        case Status.CLOSED:
            incident.closed_at = actor.at
        case Status.INVESTIGATING:
            incident.resolved_at = None


async def set_status(
    tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor, *, target: Status
) -> Result:
    current = Status(incident.status)
    lifecycle.check_transition(current, target)
    assert incident.id is not None
    incident.status = target.value
    _stamp(incident, target, actor)
    touch(incident, actor.at)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.STATUS,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=f"{current.value} → {target.value}",
        data={"old": current.value, "new": target.value},
    )
    message = deps.renderer.message(
        "status_changed", actor=actor.user, old=current.value, new=target.value
    )
    return Result(
        reschedule=True,
        effects=[
            notices.post(deps, incident, message, "announce the status change"),
            surfaces.refresh(deps, incident.id),
        ],
    )


async def assign_role(
    tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor, *, role: str, user_ref: str
) -> Result:
    playbook = deps.playbook_for(incident)
    known = list(playbook.roles) if playbook else ["commander", "comms"]
    if role not in known:
        raise UserError(
            f"The `{incident.playbook}` playbook has no `{role}` role.",
            usage="role <" + "|".join(known) + "> @user",
            suggestion=closest(role, known),
        )
    if incident.status == Status.CLOSED:
        raise UserError(f"{incident_ref(incident.number)} is closed; roles can't change.")
    user = await resolve_user(deps, user_ref)
    assert incident.id is not None
    label = playbook.role_label(role) if playbook else role
    current = (await repo.roles(tx, incident_id=incident.id)).get(role)
    if current is not None and current.user_id == user.id:
        raise UserError(f"{user.label} is already the {label}.")
    previous = await repo.assign_role(
        tx, incident_id=incident.id, role=role, user_id=user.id, user_name=user.name, at=actor.at
    )
    await repo.add_participant(
        tx, incident_id=incident.id, user_id=user.id, user_name=user.name, at=actor.at
    )
    touch(incident, actor.at)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.ROLE,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=f"{label}: {user.label}",
        data={
            "role": role,
            "user_id": user.id,
            "user_name": user.name,
            "previous_id": previous.user_id if previous else None,
        },
    )
    message = deps.renderer.message(
        "role_changed",
        actor=actor.user,
        user=user,
        label=label,
        previous=previous.user_id if previous else None,
    )
    return Result(
        effects=[
            notices.invite(deps, incident, [user.id]),
            notices.post(deps, incident, message, "announce the role change"),
            surfaces.refresh(deps, incident.id),
        ]
    )
