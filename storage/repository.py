"""Queries and writes, kept in one place. Every function takes the session it works in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import INCIDENT_NUMBERS, TASK_NUMBERS, serialise
from storage.tables import (
    Incident,
    Participant,
    ProcessedEvent,
    RoleAssignment,
    Task,
    TimelineEntry,
)

OPEN_STATUSES = ("investigating", "identified", "monitoring")

# Core-only functions accept either an ORM session or a bare connection transaction.
Executor = AsyncSession | AsyncConnection


async def _conn(executor: Executor) -> AsyncConnection:
    if isinstance(executor, AsyncConnection):
        return executor
    return await executor.connection()


# Statements run on every command are built once and reused with bound parameters:
# building one per call costs more Python time (coercion, cache-key generation) than
# SQLite spends executing it. They hold no state; only the parameters vary.


@cache
def _incident_by_channel_statement() -> Any:
    return select(Incident).where(Incident.channel_id == bindparam("channel_id"))


class IncidentKey(NamedTuple):
    """The few columns most commands need before deciding whether to load the whole row."""

    id: int
    number: int
    status: str


@cache
def _claim_and_locate_statement(dialect: str) -> Any:
    events = ProcessedEvent.__table__  # type: ignore[attr-defined]
    incidents = Incident.__table__  # type: ignore[attr-defined]
    channel = bindparam("channel_id", type_=incidents.c.channel_id.type)

    def lookup(column: Any) -> Any:
        return core_select(column).where(incidents.c.channel_id == channel).scalar_subquery()

    make = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        make(events)
        .values(
            key=bindparam("key", type_=events.c.key.type),
            at=bindparam("at", type_=events.c.at.type),
        )
        .on_conflict_do_nothing()
        .returning(lookup(incidents.c.id), lookup(incidents.c.number), lookup(incidents.c.status))
    )


async def claim_and_locate(
    session: Executor, *, key: str, at: datetime, channel_id: str
) -> tuple[bool, IncidentKey | None]:
    """Claim an event's idempotency key and find the channel's incident, in ONE statement.

    Returns (claimed, incident). Not claimed means the event was handled before. The
    lookup rides on the claim's RETURNING clause as scalar subqueries (SQLite 3.35+ and
    PostgreSQL), which saves a round trip on every command.
    """
    conn = await _conn(session)
    stmt = _claim_and_locate_statement(conn.dialect.name)
    row = (await conn.execute(stmt, {"key": key, "at": at, "channel_id": channel_id})).first()
    if row is None:
        return False, None
    return True, (IncidentKey(row[0], row[1], row[2]) if row[0] is not None else None)


@cache
def _timeline_insert_statement() -> Any:
    return insert(TimelineEntry.__table__)  # type: ignore[attr-defined]


async def next_incident_number(session: AsyncSession) -> int:
    # max + 1 is safe only one writer at a time: see `serialise`.
    await serialise(await _conn(session), lock=INCIDENT_NUMBERS)
    current = (await session.exec(select(func.max(Incident.number)))).first()
    return int(current or 0) + 1


async def incident_by_channel(session: AsyncSession, *, channel_id: str) -> Incident | None:
    stmt = _incident_by_channel_statement()
    result = await session.exec(stmt, params={"channel_id": channel_id})
    return result.first()  # type: ignore[no-any-return]


async def incident_by_number(session: AsyncSession, *, number: int) -> Incident | None:
    return (await session.exec(select(Incident).where(Incident.number == number))).first()


async def incident_by_id(
    session: AsyncSession, *, incident_id: int, lock: bool = False
) -> Incident | None:
    """The incident; with `lock`, its row stays locked until the transaction ends.

    Commands lock it, so two changing one incident at once (two replicas on PostgreSQL,
    READ COMMITTED) take turns, and the second checks its rules against what the first
    committed. SQLite needs no row lock (a write transaction holds the whole file) and
    SQLAlchemy leaves FOR UPDATE out there."""
    if lock:
        return await session.get(
            Incident, incident_id, with_for_update=True, populate_existing=True
        )
    return await session.get(Incident, incident_id)


async def open_incidents(
    session: AsyncSession, *, limit: int | None = None, offset: int = 0
) -> Sequence[Incident]:
    """Open incidents by number; `limit` and `offset` give one page of them."""
    stmt = (
        select(Incident)
        .where(col(Incident.status).in_(OPEN_STATUSES))
        .order_by(col(Incident.number))
        .offset(offset)
        .limit(limit)
    )
    return (await session.exec(stmt)).all()


async def count_open_incidents(session: AsyncSession) -> int:
    stmt = select(func.count()).where(col(Incident.status).in_(OPEN_STATUSES))
    return int((await session.exec(stmt)).one())


async def all_incidents(session: AsyncSession) -> Sequence[Incident]:
    return (await session.exec(select(Incident).order_by(col(Incident.number)))).all()


async def roles(session: AsyncSession, *, incident_id: int) -> dict[str, RoleAssignment]:
    stmt = select(RoleAssignment).where(RoleAssignment.incident_id == incident_id)
    return {r.role: r for r in (await session.exec(stmt)).all()}


async def assign_role(
    session: AsyncSession,
    *,
    incident_id: int,
    role: str,
    user_id: str,
    user_name: str,
    at: datetime,
) -> RoleAssignment | None:
    """Assign a role; returns the previous holder (None if the role was empty)."""
    stmt = select(RoleAssignment).where(
        RoleAssignment.incident_id == incident_id, RoleAssignment.role == role
    )
    row = (await session.exec(stmt)).first()
    previous = None
    if row is None:
        row = RoleAssignment(
            incident_id=incident_id, role=role, user_id=user_id, user_name=user_name, assigned_at=at
        )
    else:
        previous = RoleAssignment(
            incident_id=incident_id,
            role=role,
            user_id=row.user_id,
            user_name=row.user_name,
            assigned_at=row.assigned_at,
        )
        row.user_id, row.user_name, row.assigned_at = user_id, user_name, at
    session.add(row)
    return previous


async def add_participant(
    session: Executor, *, incident_id: int, user_id: str, user_name: str, at: datetime
) -> bool:
    """Add someone to the incident's participants. False if they were already there."""
    conn = await _conn(session)
    values = {
        "incident_id": incident_id,
        "user_id": user_id,
        "user_name": user_name,
        "joined_at": at,
    }
    result = await conn.execute(_participant_statement(conn.dialect.name), values)
    return bool(result.rowcount)


@cache
def _participant_statement(dialect: str) -> Any:
    table = Participant.__table__  # type: ignore[attr-defined]
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    return make(table).on_conflict_do_nothing()


async def participants(session: AsyncSession, *, incident_id: int) -> Sequence[Participant]:
    stmt = (
        select(Participant)
        .where(Participant.incident_id == incident_id)
        .order_by(col(Participant.joined_at))
    )
    return (await session.exec(stmt)).all()


async def tasks(
    session: AsyncSession, *, incident_id: int, limit: int | None = None, offset: int = 0
) -> Sequence[Task]:
    """The incident's tasks by number; `limit` and `offset` give one page of them."""
    stmt = (
        select(Task)
        .where(Task.incident_id == incident_id)
        .order_by(col(Task.number))
        .offset(offset)
        .limit(limit)
    )
    return (await session.exec(stmt)).all()


async def count_tasks(session: AsyncSession, *, incident_id: int) -> tuple[int, int]:
    """(all tasks, open tasks) of the incident."""
    stmt = select(func.count(), func.count().filter(col(Task.done).is_(False))).where(
        Task.incident_id == incident_id
    )
    total, still_open = (await session.exec(stmt)).one()
    return int(total), int(still_open)


async def task_by_number(session: AsyncSession, *, incident_id: int, number: int) -> Task | None:
    stmt = select(Task).where(Task.incident_id == incident_id, Task.number == number)
    return (await session.exec(stmt)).first()


async def next_task_number(session: AsyncSession, *, incident_id: int) -> int:
    await serialise(await _conn(session), lock=TASK_NUMBERS, on=incident_id)
    stmt = select(func.max(Task.number)).where(Task.incident_id == incident_id)
    return int((await session.exec(stmt)).first() or 0) + 1


def add_timeline(
    session: AsyncSession,
    *,
    incident_id: int,
    at: datetime,
    kind: str,
    actor_id: str = "",
    actor_name: str = "",
    text: str = "",
    message_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        incident_id=incident_id,
        at=at,
        kind=kind,
        actor_id=actor_id,
        actor_name=actor_name,
        text=text,
        message_id=message_id,
        data=data or {},
    )
    session.add(entry)
    return entry


async def insert_timeline(
    session: Executor,
    *,
    incident_id: int,
    at: datetime,
    kind: str,
    actor_id: str = "",
    actor_name: str = "",
    text: str = "",
    message_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """`add_timeline` for callers that need no entry object: the same row, inserted now.

    A plain INSERT in the session's transaction, without the ORM's unit of work: on a
    one-row command (a note) the flush machinery costs more than the insert itself.
    """
    values = {
        "incident_id": incident_id,
        "at": at,
        "kind": kind,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "text": text,
        "message_id": message_id,
        "data": data or {},
    }
    conn = await _conn(session)
    await conn.execute(_timeline_insert_statement(), values)


async def timeline(session: AsyncSession, *, incident_id: int) -> Sequence[TimelineEntry]:
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    )
    return (await session.exec(stmt)).all()


async def latest_timeline(
    session: AsyncSession, *, incident_id: int, limit: int, offset: int = 0
) -> Sequence[TimelineEntry]:
    """One page of the timeline counted from its newest entry, in time order: the
    `limit` entries before the newest `offset`."""
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(col(TimelineEntry.at).desc(), col(TimelineEntry.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(reversed((await session.exec(stmt)).all()))


async def count_timeline(
    session: AsyncSession, *, incident_id: int, kind: str | None = None
) -> int:
    """The incident's timeline entries, or those of one kind."""
    stmt = select(func.count()).where(TimelineEntry.incident_id == incident_id)
    if kind is not None:
        stmt = stmt.where(TimelineEntry.kind == kind)
    return int((await session.exec(stmt)).one())


async def timeline_for_message(
    session: AsyncSession, *, incident_id: int, message_id: str
) -> Sequence[TimelineEntry]:
    stmt = select(TimelineEntry).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.message_id == message_id
    )
    return (await session.exec(stmt)).all()


async def incidents_on(session: AsyncSession, *, platform: str) -> Sequence[Incident]:
    """Every incident of one chat platform, whatever its status, by number."""
    stmt = select(Incident).where(Incident.platform == platform).order_by(col(Incident.number))
    return (await session.exec(stmt)).all()


async def highest_message_id(session: AsyncSession, *, platform: str) -> str | None:
    """The timeline's greatest message id on one platform, longest first: for ids made of
    a prefix and a counter (`m12`), the one with the highest counter."""
    length = func.length(TimelineEntry.message_id)
    stmt = (
        select(TimelineEntry.message_id)
        .join(Incident, col(Incident.id) == col(TimelineEntry.incident_id))
        .where(Incident.platform == platform, col(TimelineEntry.message_id).is_not(None))
        .order_by(length.desc(), col(TimelineEntry.message_id).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()
