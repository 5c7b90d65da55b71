"""Read-only figures for `/metrics`, computed from the database at scrape time.

Drills are left out everywhere: they are practice, and counting them would page
someone for an incident that is not real or skew the response-time histograms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.repository import OPEN_STATUSES
from storage.tables import Incident


@dataclass(frozen=True, slots=True)
class Span:
    """How long one incident took from its declaration to a later moment."""

    severity: str
    seconds: float


async def ping(session: AsyncSession) -> None:
    """A trivial read: raises if the database cannot be reached."""
    (await session.exec(select(literal(1)))).one()


async def open_by_severity(session: AsyncSession) -> dict[str, int]:
    """Open (not resolved or closed) real incidents, counted per severity."""
    stmt = (
        select(Incident.severity, func.count())
        .where(col(Incident.status).in_(OPEN_STATUSES), col(Incident.drill).is_(False))
        .group_by(col(Incident.severity))
    )
    return {severity: int(n) for severity, n in (await session.exec(stmt)).all()}


def _spans(rows: Iterable[tuple[str, datetime, datetime | None]]) -> list[Span]:
    return [
        Span(severity, max(0.0, (end - start).total_seconds()))
        for severity, start, end in rows
        if end is not None
    ]


async def time_to_acknowledge(session: AsyncSession) -> list[Span]:
    """declared_at → identified_at, for real incidents that reached `identified`."""
    stmt = select(Incident.severity, Incident.declared_at, Incident.identified_at).where(
        col(Incident.identified_at).is_not(None), col(Incident.drill).is_(False)
    )
    return _spans((await session.exec(stmt)).all())


async def time_to_resolve(session: AsyncSession) -> list[Span]:
    """declared_at → resolved_at, for real incidents resolved (and not reopened since)."""
    stmt = select(Incident.severity, Incident.declared_at, Incident.resolved_at).where(
        col(Incident.resolved_at).is_not(None), col(Incident.drill).is_(False)
    )
    return _spans((await session.exec(stmt)).all())
