"""A declare whose channel cannot be created leaves nothing behind, and can be retried."""

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.service.declare import MAX_NAME_ATTEMPTS
from storage.tables import (
    DueItem,
    Incident,
    Participant,
    ProcessedEvent,
    RoleAssignment,
    TimelineEntry,
)

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

TABLES = (Incident, RoleAssignment, Participant, TimelineEntry, DueItem, ProcessedEvent)


async def counts(console) -> dict[str, int]:
    async with console.app.db.reader() as tx:
        return {
            t.__tablename__: (await tx.exec(select(func.count()).select_from(t))).one()
            for t in TABLES
        }


def take_every_name(console, base: str) -> None:
    ws = console.session.ws
    ws.add_channel(base)
    for n in range(2, MAX_NAME_ATTEMPTS + 1):
        ws.add_channel(f"{base}-{n}")


async def test_no_channel_means_no_incident(console):
    # SEV2 on the default playbook arms update, summary and checklist timers, so the
    # rollback must remove due items too (they reference the incident).
    take_every_name(console, "inc-1-checkout-errors")
    before = await counts(console)
    s = console.session
    s.as_user("alice")
    out = await s.send("/incident declare SEV2 Checkout errors --playbook default")

    assert out.reply is not None
    text = out.reply.text
    assert "Could not create the incident channel `inc-1-checkout-errors`" in text
    assert "Nothing was recorded; try again." in text
    assert await counts(console) == before
    assert s.ws.channel_by_name("incidents").messages == []


async def test_a_retry_after_the_failure_succeeds_with_the_same_number(console):
    take_every_name(console, "inc-1-checkout-errors")
    s = console.session
    s.as_user("alice")
    await s.send("/incident declare SEV2 Checkout errors --playbook default")
    s.ws.channels = {
        cid: ch for cid, ch in s.ws.channels.items() if not ch.name.startswith("inc-1-")
    }
    out = await s.send("/incident declare SEV2 Checkout errors --playbook default")

    assert out.incident_number == 1
    assert s.ws.channel_by_name("inc-1-checkout-errors") is not None
    after = await counts(console)
    assert after["incident"] == 1 and after["due_item"] >= 1
