"""Queries over the `alert` table. Every function takes the session it works in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.repository import OPEN_STATUSES
from storage.tables import AlertRecord, Incident
from storage.types import UTCDateTime


class Repeat(NamedTuple):
    incident_id: int
    number: int
    fire_count: int


@cache
def _repeat_statement() -> Any:
    alerts = AlertRecord.__table__  # type: ignore[attr-defined]
    incidents = Incident.__table__  # type: ignore[attr-defined]
    open_ids = core_select(incidents.c.id).where(incidents.c.status.in_(OPEN_STATUSES))
    number = (
        core_select(incidents.c.number)
        .where(incidents.c.id == alerts.c.incident_id)
        .scalar_subquery()
    )
    return (
        update(alerts)
        .where(
            alerts.c.source == bindparam("b_source"),
            alerts.c.key == bindparam("b_key"),
            alerts.c.status == "firing",
            alerts.c.incident_id.in_(open_ids),
        )
        .values(
            fire_count=alerts.c.fire_count + 1, last_seen=bindparam("b_at", type_=UTCDateTime())
        )
        .returning(alerts.c.incident_id, number, alerts.c.fire_count)
    )


async def count_repeat(
    conn: AsyncConnection, *, source: str, key: str, at: datetime
) -> Repeat | None:
    """One statement for the common case: a firing alert fires again while its incident is
    open. Counts it and says which incident; None when it is anything else."""
    result = await conn.execute(_repeat_statement(), {"b_source": source, "b_key": key, "b_at": at})
    row = result.first()
    return Repeat(row[0], row[1], row[2]) if row is not None else None


async def by_key(session: AsyncSession, *, source: str, key: str) -> AlertRecord | None:
    """The alert's row, locked for this transaction where the database can (PostgreSQL)."""
    statement = (
        select(AlertRecord)
        .where(col(AlertRecord.source) == source, col(AlertRecord.key) == key)
        .with_for_update()
    )
    return (await session.exec(statement)).first()


async def open_incident_of_group(
    session: AsyncSession, *, source: str, group_key: str
) -> Incident | None:
    """The newest open incident that already holds an alert of this notification group."""
    if not group_key:
        return None
    statement = (
        select(Incident)
        .join(AlertRecord, col(AlertRecord.incident_id) == col(Incident.id))
        .where(
            col(AlertRecord.source) == source,
            col(AlertRecord.group_key) == group_key,
            col(Incident.status).in_(OPEN_STATUSES),
        )
        .order_by(col(Incident.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def newest_open_incident(session: AsyncSession, *, playbook: str) -> Incident | None:
    """For `action: attach`: the newest open incident of the playbook (drills excluded)."""
    statement = (
        select(Incident)
        .where(
            col(Incident.playbook) == playbook,
            col(Incident.status).in_(OPEN_STATUSES),
            col(Incident.drill).is_(False),
        )
        .order_by(col(Incident.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def of_incident(session: AsyncSession, *, incident_id: int) -> Sequence[AlertRecord]:
    statement = (
        select(AlertRecord)
        .where(col(AlertRecord.incident_id) == incident_id)
        .order_by(col(AlertRecord.id))
    )
    return (await session.exec(statement)).all()


class Joined(NamedTuple):
    incident_id: int
    number: int
    channel_id: str | None


@cache
def _group_incident_statement() -> Any:
    alerts = AlertRecord.__table__  # type: ignore[attr-defined]
    incidents = Incident.__table__  # type: ignore[attr-defined]
    return (
        core_select(incidents.c.id, incidents.c.number, incidents.c.channel_id)
        .join(alerts, alerts.c.incident_id == incidents.c.id)
        .where(
            alerts.c.source == bindparam("b_source"),
            alerts.c.group_key == bindparam("b_group"),
            incidents.c.status.in_(OPEN_STATUSES),
        )
        .order_by(incidents.c.id.desc())
        .limit(1)
    )


@cache
def _insert_new_statement(dialect: str) -> Any:
    alerts = AlertRecord.__table__  # type: ignore[attr-defined]
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    return make(alerts).on_conflict_do_nothing().returning(alerts.c.id)


async def join_group(
    conn: AsyncConnection, *, source: str, key: str, group: str, row: dict[str, Any], at: datetime
) -> Joined | None:
    """A new alert whose notification group already has an open incident: add it there.
    While that incident has no channel yet, the alert is left unposted (`last_posted`
    NULL) for `claim_unposted` to post once the channel exists.

    None when the group has no open incident, or the alert's key already has a row (a
    re-fire, or a race another delivery won): those take the full path."""
    if not group:
        return None
    found = (
        await conn.execute(_group_incident_statement(), {"b_source": source, "b_group": group})
    ).first()
    if found is None:
        return None
    values = {
        **row,
        "source": source,
        "key": key,
        "group_key": group,
        "incident_id": found[0],
        "status": "firing",
        "fire_count": 1,
        "flaps": 0,
        "first_seen": at,
        "last_seen": at,
        "last_change": at,
        "last_posted": at if found[2] else None,
    }
    inserted = (await conn.execute(_insert_new_statement(conn.dialect.name), values)).first()
    return Joined(found[0], found[1], found[2]) if inserted is not None else None


async def holds_alerts(session: AsyncSession, *, incident_id: int) -> bool:
    """Whether any alert belongs to the incident (then it must never be deleted: the
    delivery that brought the alert was told it was taken)."""
    statement = select(AlertRecord.id).where(col(AlertRecord.incident_id) == incident_id)
    return (await session.exec(statement.limit(1))).first() is not None


async def claim_unposted(
    session: AsyncSession, *, incident_id: int, at: datetime
) -> Sequence[AlertRecord]:
    """The incident's alerts that joined it before it had a channel (`last_posted` NULL),
    marked posted at `at` in this transaction, so that one caller posts each of them."""
    alerts = AlertRecord.__table__  # type: ignore[attr-defined]
    claimed = update(alerts).where(
        alerts.c.incident_id == incident_id, alerts.c.last_posted.is_(None)
    )
    conn = await session.connection()
    ids = [
        row[0]
        for row in await conn.execute(
            claimed.values(last_posted=at).returning(alerts.c.id),
        )
    ]
    if not ids:
        return []
    statement = (
        select(AlertRecord).where(col(AlertRecord.id).in_(ids)).order_by(col(AlertRecord.id))
    )
    return (await session.exec(statement)).all()
