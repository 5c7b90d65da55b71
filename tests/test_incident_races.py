"""Two replicas changing the same incident at the same moment (SQLite and PostgreSQL).

Each command reads the incident, checks the lifecycle rules against what it read, and
writes. Without serialising commands on one incident, two `resolve`s racing on
PostgreSQL (READ COMMITTED) both pass the check and both record a resolution; two
severity changes both read the old level and the timeline then says SEV2 → SEV1 and
SEV2 → SEV3. The incident row is locked for the length of each command, so the second
one sees what the first committed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console.app import build_console
from bot.clock import ManualClock
from bot.events import CommandInvoked
from bot.port import ChannelRef, Outcome, UserRef
from storage import repository as repo
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

ROUNDS = 8


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[Any, Any, ChannelRef]]:
    """Two apps (two engines and pools) on one database, and one declared incident."""
    settings = make_settings(tmp_path)
    one, session = await build_console(settings, clock=ManualClock())
    two, _ = await build_console(settings, clock=ManualClock(), workspace=session.ws)
    try:
        session.as_user("alice")
        await session.send("/incident declare SEV2 Checkout errors")
        async with one.db.reader() as tx:
            [row] = await repo.all_incidents(tx)
        assert row.channel_id
        yield one, two, ChannelRef(row.channel_id, row.channel_name or "")
    finally:
        await one.stop()
        await two.stop()


def command(text: str, channel: ChannelRef, key: str) -> CommandInvoked:
    return CommandInvoked(key=key, user=UserRef("U1", "alice"), channel=channel, text=text)


async def both(app1: Any, app2: Any, first: CommandInvoked, second: CommandInvoked) -> list[Any]:
    outcomes: list[Outcome] = await asyncio.gather(app1.bot.handle(first), app2.bot.handle(second))
    return outcomes


async def timeline(app: Any, kind: str) -> list[Any]:
    async with app.db.reader() as tx:
        [row] = await repo.all_incidents(tx)
        assert row.id is not None
        return [e for e in await repo.timeline(tx, incident_id=row.id) if e.kind == kind]


async def test_two_resolves_at_once_resolve_once(replicas: tuple[Any, Any, ChannelRef]) -> None:
    one, two, channel = replicas
    for n in range(ROUNDS):
        outcomes = await both(
            one,
            two,
            command("resolve Fixed", channel, f"r{n}a"),
            command("resolve Fixed too", channel, f"r{n}b"),
        )
        refused = [o for o in outcomes if o.reply is not None and "Sorry" not in o.reply.text]
        assert all("resolved" in (o.reply.text if o.reply else "") for o in refused)
        assert len(await timeline(one, "resolved")) == n + 1  # exactly one per round
        await one.bot.handle(command("reopen", channel, f"o{n}"))


async def test_severity_changes_chain_without_a_lost_update(
    replicas: tuple[Any, Any, ChannelRef],
) -> None:
    one, two, channel = replicas
    for n in range(ROUNDS):
        await both(
            one,
            two,
            command("sev SEV1", channel, f"s{n}a"),
            command("sev SEV3", channel, f"s{n}b"),
        )
    changes = await timeline(one, "severity")
    # Each change starts from the level the one before it left: nobody read a stale row.
    levels = [(e.data["old"], e.data["new"]) for e in changes]
    for (_, left), (started, _) in itertools.pairwise(levels):
        assert started == left, levels
    async with one.db.reader() as tx:
        [row] = await repo.all_incidents(tx)
    assert row.severity == levels[-1][1]


async def test_two_postmortem_drafts_at_once_land_as_two_revisions(
    replicas: tuple[Any, Any, ChannelRef],
) -> None:
    from bot.service.postmortems import generate, latest

    one, two, _ = replicas
    async with one.db.reader() as tx:
        [row] = await repo.all_incidents(tx)
    assert row.id is not None
    drafts = await asyncio.gather(
        *(generate(app.bot.deps, incident_id=row.id) for app in (one, two, one, two))
    )
    assert sorted(d.revision for d in drafts) == [1, 2, 3, 4]
    stored = await latest(one.db, incident_id=row.id)
    assert stored is not None and stored.revision == 4
