"""A firing pass and a command changing the same incident at once, on PostgreSQL.

A command locks its incident row, then changes the incident's due items (an update
resets the reminders). The firing pass must take the incident the same way round: it
used to claim the due items first and lock the incident only later (the foreign key of
its timeline insert), so the two waited on each other and PostgreSQL aborted one of them
("deadlock detected": the person got an apology, or the reminder was lost).

The command's side is played on a connection of the test's own, so that it can hold the
incident locked while the pass starts; the pass is warroom's own.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot import reminders
from bot.domain.timeline import EventKind
from storage import repository as repo
from storage.database import Database
from tests.conftest import Console
from tests.waiting import WITHIN, until

pytestmark = pytest.mark.usefixtures("db_url")


async def test_a_firing_pass_waits_for_a_command_holding_its_incident(
    console: Console, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite runs one write transaction at a time: nothing can interleave")
    s = console.session
    await s.send("/incident declare SEV2 Checkout errors --playbook default")
    console.clock.advance(timedelta(hours=2))  # every timer of INC-1 is due
    later = console.clock.now() + timedelta(minutes=30)
    other, watcher = Database.connect(db_url), Database.connect(db_url)
    try:
        async with other.engine.connect() as command:
            await command.execute(text("SELECT id FROM incident WHERE number = 1 FOR UPDATE"))
            firing = asyncio.ensure_future(console.app.bot.run_due())

            async def blocked() -> bool:
                async with watcher.engine.connect() as conn:
                    waits = await conn.execute(
                        text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    )
                    return bool(waits.scalar())

            await until("the firing pass to wait for the incident", blocked)
            # What `/incident update` does while it holds the incident: reset the reminder.
            await command.execute(
                text(
                    "UPDATE due_item SET due_at = :later, fired_count = 0 "
                    "WHERE kind = 'update' AND incident_id = "
                    "(SELECT id FROM incident WHERE number = 1)"
                ),
                {"later": later},
            )
            await command.commit()
        fired = await asyncio.wait_for(firing, WITHIN)
    finally:
        await other.dispose()
        await watcher.dispose()

    assert "update" not in {f.kind for f in fired}  # the command moved it: nothing to fire
    async with console.app.db.reader() as tx:
        incident = await repo.incident_by_number(tx, number=1)
        assert incident is not None and incident.id is not None
        entries = await repo.timeline(tx, incident_id=incident.id)
        due = await reminders.items(tx, incident_id=incident.id)
    assert not [e for e in entries if e.kind == EventKind.REMINDER]
    [update] = [d for d in due if d.kind == "update"]
    assert update.due_at == later and update.fired_count == 0
