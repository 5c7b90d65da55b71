"""Finishing declares that a crash (or a kill) interrupted after their transaction.

Declare commits the incident first and opens its channel afterwards
(`bot/service/declare.py`). A process that dies in between leaves an open incident with
no channel id, and perhaps a channel on the platform that nobody recorded. At start and
on every scheduler sweep, `resume_declares` looks for such incidents, and for those with
a channel whose setup lease was never cleared (it died while posting the card or the
announcement). Once the lease (`bot/service/opening.py`) has run out, it takes each over
with a conditional UPDATE (so one process resumes it), and then:

1. adopts the channel named in `incident.channel_name` if the platform has it (the
   crash came after the platform made it), else creates it as declare does (or keeps
   the recorded channel: the crash came while the word was being spread);
2. posts what is missing: the card (or only its pin), invitations, the topic and the
   announcement, each unless the timeline says it was done;
3. writes a `declare_resumed` timeline entry.

If no channel can be made (every name taken, or the platform refuses), the incident is
removed as a failed declare is, unless alerts belong to it: then it is kept, and tried
again once the lease has run out, like a transient platform error. Alerts that joined it
while it had no channel are posted once it has one (`bot/service/alert_posts.py`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, select

from bot.domain.status import Status
from bot.port import ChannelRef, ChatError, UserRef
from bot.sanitize import clean_value
from bot.service import alert_posts, declare, opening, spreading
from bot.service.base import Actor, Deps, lookup_user
from bot.views import incident_ref
from storage import repository as repo
from storage.tables import Incident, Participant, TimelineEntry

if TYPE_CHECKING:
    from bot.effects import EffectRunner

log = logging.getLogger("warroom.recovery")
RESUMED = "declare_resumed"  # the timeline kind


@dataclass(frozen=True, slots=True)
class Recovery:
    """What one pass did: the incidents it resumed or rolled back, and when the next
    lease still held by another process runs out (None: none is pending)."""

    resumed: list[int]
    rolled_back: list[int]
    next_check: datetime | None


async def resume_declares(deps: Deps, runner: EffectRunner, *, lease: timedelta) -> Recovery:
    now = deps.clock.now()
    cutoff = now - lease
    async with deps.db.reader() as tx:
        rows = (
            await tx.exec(
                select(Incident.id, Incident.status, opening.lease_start()).where(
                    opening.unfinished()
                )
            )
        ).all()
    resumed: list[int] = []
    rolled_back: list[int] = []
    waiting: list[datetime] = []
    for incident_id, status, started in rows:
        if incident_id is None or not Status(status).is_open:
            continue
        if started >= cutoff:
            waiting.append(started + lease)
            continue
        held = await opening.claim(deps, incident_id, cutoff=cutoff)
        if held is None:
            continue  # another process took it (or finished it) first
        try:
            if await _resume(deps, runner, incident_id, held):
                resumed.append(incident_id)
            else:
                rolled_back.append(incident_id)
        except opening.LeaseLost:
            log.warning("incident id %s: another process took over its declare", incident_id)
        except Exception:
            log.exception("resuming the declare of incident id %s failed; will retry", incident_id)
            waiting.append(deps.clock.now() + lease)
    return Recovery(resumed, rolled_back, min(waiting, default=None))


async def _resume(deps: Deps, runner: EffectRunner, incident_id: int, held: datetime) -> bool:
    """Open (or adopt) the channel and spread the word. False: rolled back."""
    async with deps.db.reader() as tx:
        incident = await repo.incident_by_id(tx, incident_id=incident_id)
        assert incident is not None
        roles = await repo.roles(tx, incident_id=incident_id)
        declarer_joined = (
            await tx.exec(
                select(Participant.id).where(
                    col(Participant.incident_id) == incident_id,
                    col(Participant.user_id) == incident.declared_by_id,
                )
            )
        ).first() is not None
        done = set(
            (
                await tx.exec(
                    select(TimelineEntry.kind).where(col(TimelineEntry.incident_id) == incident_id)
                )
            ).all()
        )
    ref = incident_ref(incident.number)
    p = await _plan(deps, incident, {k: UserRef(r.user_id, r.user_name) for k, r in roles.items()})
    intended = incident.channel_name
    found = None
    if incident.channel_id:  # it died while spreading the word
        channel = ChannelRef(incident.channel_id, incident.channel_name or "")
        how = f"finished setting up #{channel.name}"
    elif intended and (found := await _find_channel(deps, intended)) is not None:
        channel = found
        await opening.record(deps, incident_id, channel, held=held, data={"adopted": True})
        how = f"adopted #{channel.name}, which the platform had already made"
    else:
        try:
            channel, held = await opening.create(
                deps,
                incident_id,
                base=declare.base_name(p, incident.number),
                private=incident.private,
                held=held,
            )
        except ChatError as exc:
            if exc.retryable or not await declare._forget(deps, incident_id, ""):
                raise  # tried again after the lease (an incident with alerts is kept)
            log.error("%s: no channel can be made (%s); rolled the declare back", ref, exc)
            return False
        await opening.record(deps, incident_id, channel, held=held)
        how = f"created #{channel.name}"
    log.warning("%s: resumed an interrupted declare: %s", ref, how)
    async with deps.db.transaction() as tx:
        repo.add_timeline(
            tx,
            incident_id=incident_id,
            at=deps.clock.now(),
            kind=RESUMED,
            text=f"after a restart: {how}",
            data={"channel_id": channel.id, "adopted": found is not None},
        )
    actor = Actor(
        user=UserRef(incident.declared_by_id, incident.declared_by_name),
        channel=ChannelRef(incident.origin_channel_id, ""),
        at=incident.declared_at,
        system=not declarer_joined,
    )
    await runner.run_together(
        spreading.spread_word(deps, incident_id, channel, p, actor, done), incident_id=incident_id
    )
    await opening.finish(deps, incident_id, held=held)
    await alert_posts.post_waiting(deps, runner, incident_id=incident_id)
    return True


async def _find_channel(deps: Deps, name: str) -> ChannelRef | None:
    """The platform's channel of that name; its name as the platform spells it is cleaned
    like any other text from outside (`bot.sanitize`)."""
    found = await deps.port.find_channel(name=name)
    return clean_value(found) if found is not None else None


async def _plan(deps: Deps, incident: Incident, roles: dict[str, UserRef]) -> declare.Plan:
    """The declare's plan again, from the database (responders re-resolved)."""
    playbook = deps.playbook_for(incident) or deps.playbooks.choose(
        title=incident.title, severity=None
    )
    severity = deps.severities.find(incident.severity) or deps.severities.default()
    responders = []
    for name in playbook.responders:
        user = await lookup_user(deps, name)
        if user is not None:
            responders.append(user)
    return declare.Plan(
        playbook=playbook,
        severity=severity,
        title=incident.title,
        roles=roles,
        responders=responders,
    )
