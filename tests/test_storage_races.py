"""Writers racing on one database (SQLite and PostgreSQL), each through its own engine as
separate replicas would: numbers never collide, a unique violation rolls its whole
transaction back and leaves the connection usable, and a retry then succeeds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from adapters.console.app import build_console
from adapters.console.workspace import Workspace
from bot.clock import ManualClock
from bot.events import CommandInvoked
from bot.port import ChannelRef, UserRef
from storage import migrate
from storage import repository as repo
from storage.database import Database
from storage.tables import AlertRecord, Incident, Task
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

WHEN = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
HOLD = 0.02  # seconds a transaction keeps its number before inserting it


@pytest.fixture
async def dbs(db_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines on one database: two replicas' worth of connection pools."""
    one, two = Database.connect(db_url), Database.connect(db_url)
    await migrate.upgrade(one)
    try:
        yield one, two
    finally:
        await one.dispose()
        await two.dispose()


def incident(number: int, title: str = "Checkout errors") -> Incident:
    return Incident(
        number=number,
        title=title,
        severity="SEV2",
        playbook="default",
        declared_by_id="UALICE",
        declared_at=WHEN,
        updated_at=WHEN,
    )


def alert_row(incident_id: int, key: str) -> AlertRecord:
    return AlertRecord(
        source="alertmanager",
        key=key,
        incident_id=incident_id,
        status="firing",
        first_seen=WHEN,
        last_seen=WHEN,
        last_change=WHEN,
    )


async def declare_one(db: Database, title: str) -> int:
    async with db.transaction() as tx:
        number = await repo.next_incident_number(tx)
        await asyncio.sleep(HOLD)  # everyone else is computing theirs meanwhile
        tx.add(incident(number, title))
    return number


async def test_simultaneous_incident_numbers_never_collide(dbs):
    numbers = await asyncio.gather(*(declare_one(dbs[i % 2], f"outage {i}") for i in range(12)))
    assert sorted(numbers) == list(range(1, 13))
    async with dbs[0].reader() as tx:
        stored = [(i.number, i.title) for i in await repo.all_incidents(tx)]
    assert sorted(int(title.split()[1]) for _, title in stored) == list(range(12))


async def test_simultaneous_task_numbers_never_collide(dbs):
    async with dbs[0].transaction() as tx:
        row = incident(1)
        tx.add(row)
    assert row.id is not None
    incident_id = row.id

    async def add_task(db: Database, text: str) -> int:
        async with db.transaction() as tx:
            number = await repo.next_task_number(tx, incident_id=incident_id)
            await asyncio.sleep(HOLD)
            tx.add(Task(incident_id=incident_id, number=number, text=text, created_at=WHEN))
        return number

    numbers = await asyncio.gather(*(add_task(dbs[i % 2], f"task {i}") for i in range(10)))
    assert sorted(numbers) == list(range(1, 11))


async def test_a_redelivered_event_is_claimed_by_exactly_one_replica(dbs):
    async def claim(db: Database) -> bool:
        async with db.transaction() as tx:
            claimed, _ = await repo.claim_and_locate(tx, key="slack:Ev9", at=WHEN, channel_id="C")
            await asyncio.sleep(HOLD)  # the other claim arrives while this one is open
        return claimed

    claims = await asyncio.gather(*(claim(dbs[i % 2]) for i in range(6)))
    assert sorted(claims) == [False] * 5 + [True]


async def test_a_unique_violation_rolls_back_everything_and_a_retry_succeeds(dbs):
    one, two = dbs
    async with one.transaction() as tx:
        first = incident(1)
        tx.add(first)
        await tx.flush()
        assert first.id is not None
        tx.add(alert_row(first.id, "fp-1"))

    for _ in range(3):  # more failures than a pool has idle connections to spoil
        with pytest.raises(IntegrityError):
            async with two.transaction() as tx:
                second = incident(await repo.next_incident_number(tx), "the loser")
                tx.add(second)
                await tx.flush()
                assert second.id is not None
                repo.add_timeline(tx, incident_id=second.id, at=WHEN, kind="declared")
                tx.add(alert_row(second.id, "fp-1"))  # the same (source, key): refused

    async with two.reader() as tx:
        titles = [i.title for i in await repo.all_incidents(tx)]
        [alert] = (await tx.exec(select(AlertRecord))).all()
    assert titles == ["Checkout errors"] and alert.incident_id == first.id

    # The retry, on the same engine: it finds the winner's row and attaches to it.
    async with two.transaction() as tx:
        found = (
            await tx.exec(
                select(AlertRecord)
                .where(col(AlertRecord.source) == "alertmanager", col(AlertRecord.key) == "fp-1")
                .with_for_update()
            )
        ).one()
        found.fire_count += 1
        assert await repo.next_incident_number(tx) == 2  # the loser's number was given back
    async with one.reader() as tx:
        assert (await tx.exec(select(AlertRecord.fire_count))).all() == [2]


async def test_two_apps_declaring_at_once_number_every_incident_once(tmp_path: Path):
    """Declares through the whole bot on two apps (two engines, one chat workspace)."""
    settings = make_settings(tmp_path)
    ws = Workspace()
    one, _ = await build_console(settings, clock=ManualClock(), workspace=ws)
    two, _ = await build_console(settings, clock=ManualClock(), workspace=ws)
    try:
        alice, general = ws.user_by_name("alice"), ws.channel_by_name("general")
        assert alice is not None and general is not None
        outcomes = await asyncio.gather(
            *(
                (one if i % 2 else two).bot.handle(
                    CommandInvoked(
                        key=f"race:{i}",
                        user=UserRef(alice.id, alice.name),
                        channel=ChannelRef(general.id, general.name),
                        text=f"declare SEV3 Outage {i} --playbook default",
                    )
                )
                for i in range(10)
            )
        )
        replies = [o.reply.text if o.reply else "" for o in outcomes]
        assert not [r for r in replies if "Sorry" in r], replies
        async with one.db.reader() as tx:
            rows = await repo.all_incidents(tx)
            with_channel = select(func.count()).where(col(Incident.channel_id).is_not(None))
            declared = (await tx.exec(with_channel)).one()
        assert [r.number for r in rows] == list(range(1, 11))
        assert declared == 10
        assert len({r.channel_name for r in rows}) == 10
    finally:
        await one.stop()
        await two.stop()
