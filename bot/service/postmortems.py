"""Postmortem drafts: compiled from the database, stored, posted as a file, exported."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    content: bytes  # UTF-8 Markdown
    revision: int

    @property
    def markdown(self) -> str:
        return self.content.decode("utf-8")


async def generate(deps: Deps, *, incident_id: int, db: Database | None = None) -> Draft:
    """Compile the whole timeline into Markdown and store it as the latest draft.

    It reads and compiles without the write lock (a long timeline takes about a second,
    and no command should wait for that), then stores the draft in one short write."""
    database = db or deps.db
    now = deps.clock.now()
    async with database.reader() as tx:
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
                    table.c.message_id,
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
        # In a worker thread: compiling a long timeline is a second of pure Python, and
        # the event loop must keep answering chat (and Slack's 3-second deadline) meanwhile.
        content = await asyncio.to_thread(
            compile_postmortem,
            deps.renderer,
            template=playbook.postmortem_template if playbook else "postmortem.md.j2",
            view=view,
            entries=entries,
            participants=people,
            severity_label=sev.label if sev else incident.severity,
            timezone=deps.options.timezone,
            generated_at=now,
        )
        del rows, entries  # the draft is all that is needed from here on
    async with database.connection() as conn:
        # One atomic upsert, without loading the previous draft back into memory: two
        # replicas regenerating at once both land, as consecutive revisions.
        pm = Postmortem.__table__  # type: ignore[attr-defined]
        make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        insert = make(pm).values(
            incident_id=incident_id, content=content, generated_at=now, revision=1
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[pm.c.incident_id],
            set_={
                "content": insert.excluded.content,
                "generated_at": insert.excluded.generated_at,
                "revision": pm.c.revision + 1,
            },
        ).returning(pm.c.revision)
        revision = int((await conn.execute(upsert)).scalar_one())
    return Draft(
        number=incident.number,
        filename=f"{incident_ref(incident.number)}-postmortem.md",
        content=content,
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
                content=draft.content,
                title=f"Postmortem draft for {incident_ref(draft.number)} (rev {draft.revision})",
            )

    return Effect("post the postmortem draft", run)


async def latest(db: Database, *, incident_id: int) -> Postmortem | None:
    async with db.reader() as tx:
        return (
            await tx.exec(select(Postmortem).where(col(Postmortem.incident_id) == incident_id))
        ).first()
