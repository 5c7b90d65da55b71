"""Apply Alembic migrations programmatically, on the same async engine warroom uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import READ_ONLY, SCHEMA_UPGRADES, Database, serialise

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaTooNew(Exception):
    """The database was migrated by a newer warroom than this one."""


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every schema revision this warroom has a migration for."""
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        await conn.execution_options(**{READ_ONLY: True})  # SQLite: no write lock to read
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade(db: Database, revision: str = "head") -> str:
    """Upgrade the schema to head (or to `revision`). Returns the revision it is now at.

    The database must answer first (`Database.ping`): one line, not a driver traceback."""
    await db.ping()
    current = await current_revision(db)
    if current is not None and current not in known_revisions():
        raise SchemaTooNew(
            f"the database is at schema revision {current}, which this warroom does not know; "
            "upgrade warroom before starting it"
        )
    async with db.engine.begin() as conn:
        # Replicas starting together upgrade one at a time; the later ones then find the
        # schema at head. (SQLite: BEGIN IMMEDIATE does the same. PostgreSQL runs the
        # whole upgrade, DDL included, in this one transaction.)
        await serialise(conn, lock=SCHEMA_UPGRADES)
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))
    now = await current_revision(db)
    assert now is not None
    return now
