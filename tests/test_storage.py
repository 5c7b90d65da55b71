"""Storage on a real database (a SQLite file and PostgreSQL): migrations, idempotency keys,
UTC times, transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel, select

import storage.tables  # noqa: F401  (registers every table on SQLModel.metadata)
from storage import database, migrate
from storage import repository as repo
from storage.database import Database
from storage.tables import Incident, ProcessedEvent, TimelineEntry

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

WHEN = datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database.connect(db_url)
    try:
        yield database
    finally:
        await database.dispose()


async def tables_in(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        names: list[str] = await conn.run_sync(lambda c: inspect(c).get_table_names())
    return set(names)


async def sql(db: Database, statement: str) -> list[Any]:
    """Run raw SQL in its own committed transaction (no warroom code involved)."""
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement))
        return list(result.all()) if result.returns_rows else []


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


async def test_upgrade_from_empty_creates_every_table(db):
    assert await migrate.current_revision(db) is None
    revision = await migrate.upgrade(db)
    assert revision == migrate.head_revision()
    assert await migrate.current_revision(db) == revision
    expected = set(SQLModel.metadata.tables)
    assert {"incident", "timeline_entry", "processed_event", "role_assignment"} <= expected
    assert expected | {"alembic_version"} <= await tables_in(db)


async def test_upgrade_twice_changes_nothing(db):
    await migrate.upgrade(db)
    async with db.transaction() as tx:
        tx.add(incident())
    tables = await tables_in(db)
    assert await migrate.upgrade(db) == migrate.head_revision()
    assert await tables_in(db) == tables
    async with db.reader() as tx:
        assert [i.title for i in await repo.all_incidents(tx)] == ["Checkout errors"]


async def test_a_database_from_a_newer_warroom_is_refused(db):
    await migrate.upgrade(db)
    await sql(db, "UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(migrate.SchemaTooNew, match="9999_from_the_future"):
        await migrate.upgrade(db)
    assert await sql(db, "SELECT version_num FROM alembic_version") == [("9999_from_the_future",)]


async def test_an_unknown_stamp_on_an_empty_database_is_refused(db):
    await sql(db, "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    await sql(db, "INSERT INTO alembic_version VALUES ('abc123')")
    with pytest.raises(migrate.SchemaTooNew):
        await migrate.upgrade(db)
    assert "incident" not in await tables_in(db)


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


async def test_utc_datetimes_round_trip_timezone_aware(db):
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
    if db.engine.dialect.name == "sqlite":  # no time zone type: the UTC wall time as text
        [(stored,)] = await sql(db, "SELECT declared_at FROM incident")
        assert str(stored).startswith("2026-03-01 12:30:15")
    else:  # timestamptz: an instant, whatever the session's time zone
        [(stored, kind)] = await sql(
            db, "SELECT declared_at AT TIME ZONE 'UTC', pg_typeof(declared_at)::text FROM incident"
        )
        assert (stored, kind) == (
            datetime(2026, 3, 1, 12, 30, 15, 123456),
            "timestamp with time zone",
        )


async def test_naive_datetimes_are_rejected(db):
    await migrate.upgrade(db)
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.transaction() as tx:
            tx.add(incident(declared_at=datetime(2026, 3, 1, 12, 0)))
    async with db.reader() as tx:
        assert list(await repo.all_incidents(tx)) == []


async def test_a_failed_transaction_leaves_nothing_written(db):
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
    assert await sql(db, "SELECT count(*) FROM incident") == [(0,)]


async def test_a_committed_transaction_is_visible_to_a_new_connection(db, db_url):
    await migrate.upgrade(db)
    async with db.transaction() as tx:
        tx.add(incident(number=7, title="Login down"))
    await db.dispose()
    again = Database.connect(db_url)
    try:
        async with again.reader() as tx:
            row = await repo.incident_by_number(tx, number=7)
        assert row is not None and row.title == "Login down"
        assert row.status == "investigating"
    finally:
        await again.dispose()


# --- connecting ---------------------------------------------------------------------------


async def test_each_backend_gets_its_own_connection_setup(db, tmp_path):
    sync_engine = db.engine.sync_engine
    sqlite_hooks = [
        event.contains(sync_engine, "connect", database._sqlite_pragmas),
        event.contains(sync_engine, "begin", database._begin),
    ]
    if db.engine.dialect.name == "sqlite":
        assert sqlite_hooks == [True, True]
        assert await sql(db, "PRAGMA journal_mode") == [("wal",)]
        nested = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'new' / 'deeper' / 'w.db'}")
        await nested.dispose()
        assert (tmp_path / "new" / "deeper").is_dir()
    else:
        assert sqlite_hooks == [False, False]
        assert db.engine.dialect.driver == "asyncpg"
        pool: Any = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._pre_ping) == (10, 10, True)
        assert await sql(db, "SHOW transaction_isolation") == [("read committed",)]
