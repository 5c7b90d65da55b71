"""Resolve, reopen and close."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import reminders
from bot.domain import status as lifecycle
from bot.domain.status import Status
from bot.domain.timeline import EventKind
from bot.errors import UserError
from bot.markup import clean_user_text
from bot.port import Capability
from bot.service import notices, postmortems, surfaces
from bot.service.base import Actor, Deps, Effect, Result, load_view, touch
from bot.service.triage import set_status
from bot.views import incident_ref
from storage import repository as repo
from storage.tables import Incident


async def resolve(
    tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor, *, summary: str = ""
) -> Result:
    lifecycle.check_transition(Status(incident.status), Status.RESOLVED)
    assert incident.id is not None
    text = clean_user_text(summary).strip()
    incident.status = Status.RESOLVED.value
    incident.resolved_at = actor.at
    if incident.monitoring_at is None:
        incident.monitoring_at = actor.at
    if incident.identified_at is None:
        incident.identified_at = actor.at
    touch(incident, actor.at)
    await reminders.stop(tx, incident)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.RESOLVED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=text,
    )
    view = await load_view(tx, deps, incident)
    message = deps.renderer.message(
        "resolved", incident=view, actor=actor.user, summary=text, colour="#12b76a"
    )
    return Result(
        reschedule=True,
        effects=[
            notices.post(deps, incident, message, "announce the resolution"),
            notices.broadcast(deps, incident, message, "broadcast the resolution"),
            surfaces.refresh(deps, incident.id),
            postmortems.publish(deps, incident_id=incident.id),
        ],
    )


async def reopen(tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor) -> Result:
    if incident.status == Status.CLOSED:
        raise UserError(
            f"{incident_ref(incident.number)} is closed. A closed incident is final; "
            "declare a new one."
        )
    if incident.status != Status.RESOLVED:
        raise UserError(
            f"Only a resolved incident can be reopened; {incident_ref(incident.number)} is "
            f"{incident.status}."
        )
    assert incident.id is not None
    incident.status = Status.INVESTIGATING.value
    incident.resolved_at = None
    touch(incident, actor.at)
    await reminders.arm(tx, incident, deps.playbook_for(incident), at=actor.at)
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.REOPENED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
    )
    view = await load_view(tx, deps, incident)
    message = deps.renderer.message("reopened", incident=view, actor=actor.user)
    return Result(
        reschedule=True,
        effects=[
            notices.post(deps, incident, message, "announce the reopen"),
            surfaces.refresh(deps, incident.id),
        ],
    )


async def change_status(
    tx: AsyncSession, deps: Deps, incident: Incident, actor: Actor, *, target: Status
) -> Result:
    """`status X`: resolved goes through resolve; closed archives the channel."""
    if target == Status.RESOLVED:
        return await resolve(tx, deps, incident, actor)
    if target == Status.INVESTIGATING and incident.status == Status.RESOLVED:
        return await reopen(tx, deps, incident, actor)
    result = await set_status(tx, deps, incident, actor, target=target)
    if target == Status.CLOSED:
        await reminders.stop(tx, incident)
    if target == Status.CLOSED and incident.channel_id:
        channel_id = incident.channel_id

        async def archive() -> None:
            if Capability.ARCHIVE in deps.port.capabilities:
                await deps.port.archive(channel_id=channel_id)

        result.effects.append(Effect("archive the incident channel", archive))
    return result
