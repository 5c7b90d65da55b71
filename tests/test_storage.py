"""Storage on a real SQLite file: migrations, idempotency keys, UTC times, transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel, select

import storage.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from storage import migrate
from storage import repository as repo
from storage.database import Database
from storage.tables import Incident, ProcessedEvent, TimelineEntry

WHEN = datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "warroom.db"


@pytest.fixture
async def db(db_file: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite+aiosqlite:///{db_file}")
    try:
        yield database
    finally:
        await database.dispose()


def tables_in(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def incident(number: int = 1, **overrides: object) -> Incident:
    values: dict[str, object] = {
        "number": number,
        "title": "Checkout errors",
        "severity": "SEV2",
        "playbook": "default",
        "declared_by_id": "UALICE",
        "declared_at": WHEN,
        "updated_at": WHEN,
    }
    values.update(overrides)
    return Incident.model_validate(values)


# --- migrations -------------------------------------------------------------------------


async def test_upgrade_from_empty_creates_every_table(db, db_file):
    assert await migrate.current_revision(db) is None
    revision = await migrate.upgrade(db)
    assert revision == migrate.head_revision()
    assert await migrate.current_revision(db) == revision
    expected = set(SQLModel.metadata.tables)
    assert {"incident", "timeline_entry", "processed_event", "role_assignment"} <= expected
    assert expected | {"alembic_version"} <= tables_in(db_file)


async def test_upgrade_twice_changes_nothing(db, db_file):
    await migrate.upgrade(db)
    async with db.transaction() as tx:
        tx.add(incident())
    tables = tables_in(db_file)
    assert await migrate.upgrade(db) == migrate.head_revision()
    assert tables_in(db_file) == tables
    async with db.reader() as tx:
        assert [i.title for i in await repo.all_incidents(tx)] == ["Checkout errors"]


async def test_a_database_from_a_newer_warroom_is_refused(db, db_file):
    await migrate.upgrade(db)
    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(migrate.SchemaTooNew, match="9999_from_the_future"):
        await migrate.upgrade(db)
    with sqlite3.connect(db_file) as conn:
        [(version,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == "9999_from_the_future"


async def test_an_unknown_stamp_on_an_empty_database_is_refused(db, db_file):
    db_file.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db_file) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('abc123')")
    with pytest.raises(migrate.SchemaTooNew):
        await migrate.upgrade(db)
    assert "incident" not in tables_in(db_file)


# --- repository -------------------------------------------------------------------------


async def test_claim_event_is_true_once_then_false(db):
    await migrate.upgrade(db)
    async with db.transaction() as tx:
        assert (await repo.claim_and_locate(tx, key="slack:Ev1", at=WHEN, channel_id="C0"))[
            0
        ] is True
    async with db.transaction() as tx:
        assert (await repo.claim_and_locate(tx, key="slack:Ev1", at=WHEN, channel_id="C0"))[
            0
        ] is False
        assert (await repo.claim_and_locate(tx, key="slack:Ev2", at=WHEN, channel_id="C0"))[
            0
        ] is True
    async with db.reader() as tx:
        keys = sorted(e.key for e in (await tx.exec(select(ProcessedEvent))).all())
    assert keys == ["slack:Ev1", "slack:Ev2"]


async def test_utc_datetimes_round_trip_timezone_aware(db, db_file):
    await migrate.upgrade(db)
    paris = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 1, 14, 30, 15, 123456, tzinfo=paris)
    async with db.transaction() as tx:
        row = incident(declared_at=local, resolved_at=WHEN + timedelta(minutes=5))
        tx.add(row)
        await tx.flush()
        assert row.id is not None
        repo.add_timeline(tx, incident_id=row.id, at=WHEN, kind="note", data={"k": [1, "x"]})
    async with db.reader() as tx:
        got = (await tx.exec(select(Incident))).one()
        entry = (await tx.exec(select(TimelineEntry))).one()
    assert got.declared_at == local
    assert got.declared_at.tzinfo == UTC
    assert got.declared_at.hour == 12 and got.declared_at.microsecond == 123456
    assert got.resolved_at == WHEN + timedelta(minutes=5) and got.resolved_at.tzinfo == UTC
    assert got.identified_at is None
    assert entry.at == WHEN and entry.at.tzinfo == UTC
    assert entry.data == {"k": [1, "x"]}
    with sqlite3.connect(db_file) as conn:
        [(stored,)] = conn.execute("SELECT declared_at FROM incident").fetchall()
    assert str(stored).startswith("2026-03-01 12:30:15")


async def test_naive_datetimes_are_rejected(db):
    await migrate.upgrade(db)
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.transaction() as tx:
            tx.add(incident(declared_at=datetime(2026, 3, 1, 12, 0)))
    async with db.reader() as tx:
        assert list(await repo.all_incidents(tx)) == []


async def test_a_failed_transaction_leaves_nothing_written(db, db_file):
    await migrate.upgrade(db)
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as tx:
            row = incident()
            tx.add(row)
            await tx.flush()
            assert row.id is not None
            repo.add_timeline(tx, incident_id=row.id, at=WHEN, kind="declared")
            assert (await repo.claim_and_locate(tx, key="console:1", at=WHEN, channel_id="C0"))[0]
            await tx.flush()
            raise RuntimeError("boom")
    async with db.reader() as tx:
        assert list(await repo.all_incidents(tx)) == []
        assert list((await tx.exec(select(TimelineEntry))).all()) == []
    async with db.transaction() as tx:
        assert (await repo.claim_and_locate(tx, key="console:1", at=WHEN, channel_id="C0"))[
            0
        ] is True
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT count(*) FROM incident").fetchone() == (0,)


async def test_a_committed_transaction_is_visible_to_a_new_connection(db, db_file):
    await migrate.upgrade(db)
    async with db.transaction() as tx:
        tx.add(incident(number=7, title="Login down"))
    await db.dispose()
    again = Database.connect(f"sqlite+aiosqlite:///{db_file}")
    try:
        async with again.reader() as tx:
            row = await repo.incident_by_number(tx, number=7)
        assert row is not None and row.title == "Login down"
        assert row.status == "investigating"
    finally:
        await again.dispose()
