"""Snapshots of everything a command could change, to show that a refused one changed
nothing: every table's rows, and what every console channel shows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from adapters.console.workspace import Workspace
from storage.database import Database


async def db_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the schema, every row, every column, in primary-key order."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            stmt = select(table).order_by(*table.primary_key.columns)
            state[table.name] = [tuple(row) for row in (await conn.execute(stmt)).all()]
    return state


def chat_state(ws: Workspace) -> list[tuple[Any, ...]]:
    """What every channel shows: messages (with pins, edits), topic, members, notices."""
    return [
        (
            c.id,
            c.name,
            c.private,
            c.archived,
            c.topic,
            sorted(c.members),
            list(c.log),
            [(m.id, m.text, m.pinned, m.edited, m.deleted) for m in c.messages],
        )
        for c in ws.channels.values()
    ] + [("files", len(ws.files))]
