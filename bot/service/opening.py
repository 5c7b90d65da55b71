"""Opening an incident's channel so that a crash at any point can be finished later.

Declare (`bot/service/declare.py`) and recovery (`bot/service/recovery.py`) share these
steps. The database always says how far the opening got:

- `incident.setup_started_at` is a lease: the time the process that is opening the
  channel took the job (NULL: the declarer, which holds it from `declared_at`). Another
  process takes the job over only once the lease is older than `WARROOM_SETUP_LEASE`,
  with a conditional UPDATE, so one process at a time creates channels for an incident.
- Before each `create_channel` call the name about to be created is recorded in
  `incident.channel_name` (with `channel_id` still NULL), in the same statement that
  renews the lease. After a crash the channel, if the platform made it, is found again
  by that name and adopted instead of left behind as an orphan.
- The channel id is recorded only if the lease is still this process's own
  (`LeaseLost` otherwise: another process has taken over and finishes the job).
- The lease stays set while the card, invitations, topic and announcement go out, and
  is cleared (`finish`) once they have run. A recorded channel with a lease still set is
  a declare that died while spreading the word.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, update

from bot.domain.naming import with_suffix
from bot.domain.timeline import EventKind
from bot.port import Capability, ChannelNameTaken, ChannelRef, ChatError
from bot.sanitize import clean_value
from bot.service.base import Deps
from storage import repository as repo
from storage.tables import DueItem, Incident
from storage.types import UTCDateTime

MAX_NAME_ATTEMPTS = 20
INCIDENT: Any = Incident.__table__  # type: ignore[attr-defined]
DUE: Any = DueItem.__table__  # type: ignore[attr-defined]


class LeaseLost(Exception):
    """Another process has taken over opening this incident's channel."""


def lease_start() -> Any:
    """When the current holder took the job: the lease, or the declare itself."""
    return func.coalesce(INCIDENT.c.setup_started_at, INCIDENT.c.declared_at, type_=UTCDateTime())


def unfinished() -> Any:
    """Incidents whose opening has not finished: no channel yet, or a lease still set."""
    return or_(INCIDENT.c.channel_id.is_(None), INCIDENT.c.setup_started_at.is_not(None))


async def claim(deps: Deps, incident_id: int, *, cutoff: datetime) -> datetime | None:
    """Take over an unfinished opening whose lease started before `cutoff`.

    Returns the new lease, or None when another process holds it (or it is done)."""
    now = deps.clock.now()
    stmt = (
        update(INCIDENT)
        .where(INCIDENT.c.id == incident_id, unfinished(), lease_start() < cutoff)
        .values(setup_started_at=now)
        .returning(INCIDENT.c.id)
    )
    async with deps.db.transaction() as tx:
        conn = await tx.connection()
        won = (await conn.execute(stmt)).first() is not None
    return now if won else None


async def _intend(deps: Deps, incident_id: int, *, name: str, held: datetime | None) -> datetime:
    """Renew the lease (`held`: the one this process holds; None: the declarer's own) and
    record the name about to be created. Raises `LeaseLost`."""
    now = deps.clock.now()
    held_now = (
        INCIDENT.c.setup_started_at.is_(None)
        if held is None
        else INCIDENT.c.setup_started_at == held
    )
    stmt = (
        update(INCIDENT)
        .where(INCIDENT.c.id == incident_id, INCIDENT.c.channel_id.is_(None), held_now)
        .values(setup_started_at=now, channel_name=name)
        .returning(INCIDENT.c.id)
    )
    async with deps.db.transaction() as tx:
        conn = await tx.connection()
        if (await conn.execute(stmt)).first() is None:
            raise LeaseLost(name)
    return now


async def create(
    deps: Deps, incident_id: int, *, base: str, private: bool, held: datetime | None
) -> tuple[ChannelRef, datetime]:
    """Create the channel, trying `base`, `base-2`, … on a taken name. Returns the channel
    and the lease held. Raises `LeaseLost`, or `ChatError` when no name can be made."""
    private = private and Capability.PRIVATE_CHANNELS in deps.port.capabilities
    for attempt in range(MAX_NAME_ATTEMPTS):
        name = base if attempt == 0 else with_suffix(base, attempt)
        held = await _intend(deps, incident_id, name=name, held=held)
        try:
            # The name as the platform spells it is text from outside: cleaned.
            channel = await deps.port.create_channel(name=name, private=private)
            return clean_value(channel), held
        except ChannelNameTaken:
            continue
    # Every name belongs to someone else: recovery must not adopt the last one tried.
    async with deps.db.transaction() as tx:
        conn = await tx.connection()
        await conn.execute(
            update(INCIDENT)
            .where(INCIDENT.c.id == incident_id, INCIDENT.c.channel_id.is_(None))
            .values(channel_name=None)
        )
    raise ChatError(
        f"every channel name from {base} to {with_suffix(base, MAX_NAME_ATTEMPTS - 1)} is taken"
    )


async def record(
    deps: Deps,
    incident_id: int,
    channel: ChannelRef,
    *,
    held: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    """Store the channel if the lease is still `held`, with a `channel_created` entry, and
    re-arm timers that fell due while there was no channel. Raises `LeaseLost`."""
    now = deps.clock.now()
    stmt = (
        update(INCIDENT)
        .where(
            INCIDENT.c.id == incident_id,
            INCIDENT.c.channel_id.is_(None),
            INCIDENT.c.setup_started_at == held,
        )
        .values(channel_id=channel.id, channel_name=channel.name)
        .returning(INCIDENT.c.id)
    )
    async with deps.db.transaction() as tx:
        conn = await tx.connection()
        if (await conn.execute(stmt)).first() is None:
            raise LeaseLost(channel.name)
        await conn.execute(rearm_statement(incident_id, now))
        repo.add_timeline(
            tx,
            incident_id=incident_id,
            at=now,
            kind=EventKind.CHANNEL_CREATED,
            text=f"#{channel.name}",
            data={"channel_id": channel.id, "name": channel.name, **(data or {})},
        )


def rearm_statement(incident_id: int, now: datetime) -> Any:
    """Due items a firing pass consumed while the incident had no channel, due again now.

    A firing pass claims due work of a channel-less incident and posts nothing (it has
    nowhere to post), leaving `due_at` NULL with `last_fired_at` set. Before its channel
    is recorded an incident can have no other such rows: every command that stops or
    answers a timer runs inside the incident channel. The unposted firing is undone."""
    return (
        update(DUE)
        .where(
            DUE.c.incident_id == incident_id,
            DUE.c.due_at.is_(None),
            DUE.c.last_fired_at.is_not(None),
        )
        .values(
            due_at=now,
            fired_count=case((DUE.c.fired_count > 0, DUE.c.fired_count - 1), else_=0),
            last_fired_at=None,
        )
    )


async def finish(deps: Deps, incident_id: int, *, held: datetime) -> bool:
    """The word is spread: clear the lease, if it is still `held`."""
    stmt = (
        update(INCIDENT)
        .where(INCIDENT.c.id == incident_id, INCIDENT.c.setup_started_at == held)
        .values(setup_started_at=None)
        .returning(INCIDENT.c.id)
    )
    async with deps.db.transaction() as tx:
        conn = await tx.connection()
        return (await conn.execute(stmt)).first() is not None
