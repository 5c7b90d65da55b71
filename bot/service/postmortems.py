"""Postmortem drafts: compiled from the database, stored, posted as a file, exported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select as core_select
from sqlmodel import col, select

from bot.port import Capability
from bot.postmortem import Entry, compile_postmortem
from bot.service.base import Deps, Effect, load_view
from bot.views import incident_ref
from storage import repository as repo
from storage.database import Database
from storage.tables import Postmortem, TimelineEntry


@dataclass(frozen=True, slots=True)
class Draft:
    number: int
    filename: str
    markdown: str
    revision: int


async def generate(deps: Deps, *, incident_id: int, db: Database | None = None) -> Draft:
    """Compile the whole timeline into Markdown and store it as the latest draft."""
    database = db or deps.db
    now = deps.clock.now()
    async with database.transaction() as tx:
        incident = await repo.incident_by_id(tx, incident_id=incident_id)
        assert incident is not None
        view = await load_view(tx, deps, incident, with_tasks=True)
        table = TimelineEntry.__table__  # type: ignore[attr-defined]
        conn = await tx.connection()
        rows = (
            await conn.execute(
                core_select(
                    table.c.at,
                    table.c.kind,
                    table.c.actor_id,
                    table.c.actor_name,
                    table.c.text,
                    table.c.data,
                )
                .where(table.c.incident_id == incident_id)
                .order_by(table.c.at, table.c.id)
            )
        ).all()
        entries = cast(Sequence[Entry], rows)
        people = [
            p.user_name or p.user_id for p in await repo.participants(tx, incident_id=incident_id)
        ]
        playbook = deps.playbook_for(incident)
        sev = deps.severities.find(incident.severity)
        markdown = compile_postmortem(
            deps.renderer,
            template=playbook.postmortem_template if playbook else "postmortem.md.j2",
            view=view,
            entries=entries,
            participants=people,
            severity_label=sev.label if sev else incident.severity,
            timezone=deps.options.timezone,
            generated_at=now,
        )
        row = await tx.get(Postmortem, incident_id)
        if row is None:
            row = Postmortem(incident_id=incident_id, markdown=markdown, generated_at=now)
        else:
            row.markdown, row.generated_at, row.revision = markdown, now, row.revision + 1
        tx.add(row)
        revision = row.revision
    return Draft(
        number=incident.number,
        filename=f"{incident_ref(incident.number)}-postmortem.md",
        markdown=markdown,
        revision=revision,
    )


def publish(deps: Deps, *, incident_id: int, post: bool = True) -> Effect:
    """Regenerate and store the draft; post it to the incident channel as a file."""

    async def run() -> None:
        draft = await generate(deps, incident_id=incident_id)
        if not post:
            return
        async with deps.db.reader() as tx:
            incident = await repo.incident_by_id(tx, incident_id=incident_id)
        if incident is None or not incident.channel_id:
            return
        if Capability.FILES in deps.port.capabilities:
            await deps.port.upload_file(
                channel_id=incident.channel_id,
                filename=draft.filename,
                content=draft.markdown.encode("utf-8"),
                title=f"Postmortem draft for {incident_ref(draft.number)} (rev {draft.revision})",
            )

    return Effect("post the postmortem draft", run)


async def latest(db: Database, *, incident_id: int) -> Postmortem | None:
    async with db.reader() as tx:
        return (
            await tx.exec(select(Postmortem).where(col(Postmortem.incident_id) == incident_id))
        ).first()
