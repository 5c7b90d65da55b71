"""Declare: record the incident in one transaction, then open its channel and spread word.

The incident, its roles and its first timeline entries commit together. Chat setup runs
after commit: create the channel (suffixing the name on collision), then post and pin
the card, invite people, set the topic and announce (`bot/service/spreading.py`). If
the channel cannot be created at all, the incident is removed again so that nothing is
half-written, unless an alert belongs to it: its sender was told the alert was taken,
so the incident is kept without a channel (`ChannelPending`) and recovery
(`bot/service/recovery.py`) tries the channel again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import failures, reminders
from bot.commands import SPECS, Declare
from bot.domain.naming import channel_name
from bot.domain.severity import Severity
from bot.domain.text import has_visible
from bot.domain.timeline import EventKind
from bot.errors import UserError
from bot.markup import clean_user_text
from bot.playbook import COMMANDER, COMMS, Playbook
from bot.port import (
    ChannelRef,
    RichMessage,
    UserRef,
)
from bot.service import alert_posts, opening, spreading
from bot.service.base import Actor, Deps, Result, load_view, lookup_user, resolve_user
from bot.service.opening import MAX_NAME_ATTEMPTS as MAX_NAME_ATTEMPTS
from bot.views import incident_ref
from storage import alert_store
from storage import repository as repo
from storage.tables import (
    DueItem,
    Incident,
    Participant,
    ProcessedEvent,
    RoleAssignment,
    TimelineEntry,
)

if TYPE_CHECKING:
    from bot.effects import EffectRunner

log = logging.getLogger("warroom.declare")
MAX_TITLE = 200


class ChannelPending(UserError):
    """No channel could be made, but the incident holds alerts, so it is kept without one
    (an acknowledged alert is never deleted); recovery tries the channel again."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything decided before the transaction: no I/O happens inside it but the DB."""

    playbook: Playbook
    severity: Severity
    title: str
    roles: dict[str, UserRef]
    responders: list[UserRef]


async def plan(deps: Deps, command: Declare, actor: Actor) -> Plan:
    title = " ".join(clean_user_text(command.title).split())
    if not title:
        raise UserError("`declare` needs a title.", usage=SPECS["declare"].usage)
    if not has_visible(title):
        raise UserError(
            "The title has no visible characters (only zero-width, direction or other "
            "invisible characters); give a title people can read.",
            usage=SPECS["declare"].usage,
        )
    if len(title) > MAX_TITLE:
        raise UserError(f"The title is {len(title)} characters; keep it under {MAX_TITLE}.")
    explicit = deps.severities.get(command.severity) if command.severity else None
    if command.playbook:
        playbook = deps.playbooks.get(command.playbook)
    else:
        playbook = deps.playbooks.choose(title=title, severity=explicit.name if explicit else None)
    if command.impact is not None and command.urgency is not None:
        if playbook.matrix is None:
            with_matrix = [p.name for p in deps.playbooks.by_name.values() if p.matrix]
            hint = f" Playbooks with one: {', '.join(with_matrix)}." if with_matrix else ""
            raise UserError(
                f"The `{playbook.name}` playbook has no impact × urgency matrix; "
                f"give a severity level instead.{hint}",
                usage=deps.severities.usage,
            )
        level = playbook.matrix.to_matrix().lookup(impact=command.impact, urgency=command.urgency)
        severity = deps.severities.get(level)
    else:
        severity = explicit or deps.severities.default()

    roles, responders = await people(
        deps, playbook, actor, commander=command.commander, comms=command.comms
    )
    return Plan(
        playbook=playbook, severity=severity, title=title, roles=roles, responders=responders
    )


async def people(
    deps: Deps, playbook: Playbook, actor: Actor, *, commander: str | None, comms: str | None
) -> tuple[dict[str, UserRef], list[UserRef]]:
    """Roles (given → the playbook's default → the declarer) and the playbook's responders.

    A system actor (an alert) takes no role: what nobody was given stays unassigned."""
    roles: dict[str, UserRef] = {}
    for key, ref in ((COMMANDER, commander), (COMMS, comms)):
        if ref and not actor.system:
            roles[key] = await resolve_user(deps, ref)
        elif ref:  # an alert rule's assignee: a typo must not lose the incident
            found = await lookup_user(deps, ref)
            if found is not None:
                roles[key] = found
            else:
                log.warning("alert rule: %s %r is not a known user", key, ref)
    for key, spec in playbook.roles.items():
        if key not in roles and spec.default_assignee:
            user = await lookup_user(deps, spec.default_assignee)
            if user is not None:
                roles[key] = user
            else:
                log.warning(
                    "playbook %s: default %s %r is not a known user",
                    playbook.name,
                    key,
                    spec.default_assignee,
                )
    if not actor.system:
        roles.setdefault(COMMANDER, actor.user)
        roles.setdefault(COMMS, actor.user)
    responders = []
    for ref in playbook.responders:
        user = await lookup_user(deps, ref)
        if user is not None:
            responders.append(user)
    return roles, responders


async def record(tx: AsyncSession, deps: Deps, command: Declare, actor: Actor, p: Plan) -> Incident:
    number = await repo.next_incident_number(tx)
    impact = command.impact.lower() if command.impact else None
    urgency = command.urgency.lower() if command.urgency else None
    incident = Incident(
        number=number,
        title=p.title,
        summary=clean_user_text(command.summary).strip(),
        severity=p.severity.name,
        status="investigating",
        playbook=p.playbook.name,
        impact=impact,
        urgency=urgency,
        private=command.private or p.playbook.channel.private,
        drill=command.drill,
        platform=deps.port.platform,
        declared_by_id=actor.user.id,
        declared_by_name=actor.user.name,
        origin_channel_id=actor.channel.id,
        declared_at=actor.at,
        updated_at=actor.at,
    )
    tx.add(incident)
    await tx.flush()
    assert incident.id is not None
    repo.add_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.DECLARED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=p.title,
        data={
            "severity": p.severity.name,
            "playbook": p.playbook.name,
            "private": incident.private,
            "drill": incident.drill,
            "impact": impact,
            "urgency": urgency,
        },
    )
    for role, user in p.roles.items():
        await repo.assign_role(
            tx,
            incident_id=incident.id,
            role=role,
            user_id=user.id,
            user_name=user.name,
            at=actor.at,
        )
        repo.add_timeline(
            tx,
            incident_id=incident.id,
            at=actor.at,
            kind=EventKind.ROLE,
            actor_id=actor.user.id,
            actor_name=actor.user.name,
            text=f"{p.playbook.role_label(role)}: {user.label}",
            data={"role": role, "user_id": user.id, "user_name": user.name},
        )
    declarer = [] if actor.system else [actor.user]
    for user in {u.id: u for u in [*declarer, *p.roles.values()]}.values():
        await repo.add_participant(
            tx, incident_id=incident.id, user_id=user.id, user_name=user.name, at=actor.at
        )
    await reminders.arm(tx, incident, p.playbook, at=actor.at)
    return incident


async def _forget(deps: Deps, incident_id: int, key: str) -> bool:
    """Undo the declare transaction when no channel could be created: True. False when an
    alert belongs to the incident: the delivery that brought it was answered, so the
    incident is kept. The incident is locked first (PostgreSQL), so an alert joining it
    at the same moment either lands before (and keeps it) or finds it gone."""
    async with deps.db.transaction() as tx:
        await repo.incident_by_id(tx, incident_id=incident_id, lock=True)
        if await alert_store.holds_alerts(tx, incident_id=incident_id):
            return False
        await tx.exec(delete(TimelineEntry).where(col(TimelineEntry.incident_id) == incident_id))
        await tx.exec(delete(RoleAssignment).where(col(RoleAssignment.incident_id) == incident_id))
        await tx.exec(delete(Participant).where(col(Participant.incident_id) == incident_id))
        await tx.exec(delete(DueItem).where(col(DueItem.incident_id) == incident_id))
        await tx.exec(delete(Incident).where(col(Incident.id) == incident_id))
        await tx.exec(delete(ProcessedEvent).where(col(ProcessedEvent.key) == key))
    return True


async def declare(
    tx: AsyncSession, deps: Deps, command: Declare, actor: Actor, *, event_key: str, p: Plan
) -> Result:
    incident = await record(tx, deps, command, actor, p)
    assert incident.id is not None
    incident_id, number = incident.id, incident.number

    async def then(runner: EffectRunner) -> RichMessage:
        await open_and_spread(
            deps,
            runner,
            incident_id=incident_id,
            number=number,
            event_key=event_key,
            p=p,
            actor=actor,
        )
        async with deps.db.reader() as rtx:
            row = await repo.incident_by_id(rtx, incident_id=incident_id)
            assert row is not None
            view = await load_view(rtx, deps, row)
        return deps.renderer.message(
            "declared", incident=view, announced=bool(row.announce_message_id)
        )

    return Result(reschedule=True, incident_id=incident_id, incident_number=number, then=then)


async def open_and_spread(
    deps: Deps,
    runner: EffectRunner,
    *,
    incident_id: int,
    number: int,
    event_key: str,
    p: Plan,
    actor: Actor,
) -> None:
    """After commit: create the channel (or roll the declare back), then spread the word."""
    opened = await _open_channel(
        deps, incident_id=incident_id, number=number, event_key=event_key, p=p
    )
    if opened is None:
        return
    channel, held = opened
    # Card (then its pin), invitations, topic and announcement don't depend on each
    # other: they go out together, so declare costs ~3 sequential round trips.
    await runner.run_together(
        spreading.spread_word(deps, incident_id, channel, p, actor), incident_id=incident_id
    )
    await opening.finish(deps, incident_id, held=held)
    await alert_posts.post_waiting(deps, runner, incident_id=incident_id)


def base_name(p: Plan, number: int) -> str:
    return channel_name(
        p.playbook.channel.name_template, number=number, title=p.title, severity=p.severity.name
    )


async def _open_channel(
    deps: Deps, *, incident_id: int, number: int, event_key: str, p: Plan
) -> tuple[ChannelRef, datetime] | None:
    """The channel, recorded, and the setup lease held; None if another process took the
    job over (a very slow platform: see `bot/service/opening.py`), which finishes it."""
    base = base_name(p, number)
    async with deps.db.reader() as tx:
        incident = await repo.incident_by_id(tx, incident_id=incident_id)
        assert incident is not None
        private = incident.private
    try:
        channel, held = await opening.create(
            deps, incident_id, base=base, private=private, held=None
        )
        await opening.record(deps, incident_id, channel, held=held)
    except opening.LeaseLost:
        log.warning("%s: another process took over opening the channel", incident_ref(number))
        return None
    except Exception as exc:
        failure = failures.logged(log, exc, "channel creation failed", incident_number=number)
        # A platform's reason helps whoever reads it; anything else stays in the log.
        why = failure.reason or f"an unexpected error (logged, ref `{failure.reference}`)"
        if not await _forget(deps, incident_id, event_key):
            log.warning("%s holds alerts: kept without a channel", incident_ref(number))
            raise ChannelPending(
                f"{incident_ref(number)} is declared, but its channel `{base}` could not be "
                f"created on {deps.port.platform}: {why}. Alerts belong to it, so it is kept; "
                "warroom tries the channel again on its next recovery pass."
            ) from exc
        raise UserError(
            f"Could not create the incident channel `{base}` on {deps.port.platform}: {why}. "
            "Nothing was recorded; try again."
        ) from exc
    return channel, held
