"""Locking: writers serialise up front (SQLite) or row by row (PostgreSQL); readers never
wait for a writer on either."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert
from sqlmodel import select

from storage import migrate
from storage.database import Database
from storage.tables import ProcessedEvent
from tests.waiting import WITHIN

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_a_reader_in_another_engine_does_not_wait_for_an_open_write(db_url):
    writer, other = Database.connect(db_url), Database.connect(db_url)
    await migrate.upgrade(writer)
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    try:
        async with writer.transaction() as tx:
            await tx.exec(insert(table).values(key="k1", at=NOW))
            # The write transaction holds SQLite's write lock (BEGIN IMMEDIATE), or the
            # new row's lock on PostgreSQL. A reader must still answer at once, seeing
            # the last committed state.
            async with other.reader() as r:
                # A reader that waited would wait forever (the writer waits for it):
                # the bound only has to end that, not to be tight.
                count = await asyncio.wait_for(
                    r.exec(select(func.count()).select_from(ProcessedEvent)), timeout=WITHIN
                )
                assert count.one() == 0
        async with other.reader() as r:
            assert (await r.exec(select(func.count()).select_from(ProcessedEvent))).one() == 1
    finally:
        await writer.dispose()
        await other.dispose()
