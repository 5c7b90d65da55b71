"""The console started again and again on one database.

Each start is a new in-memory workspace; the database keeps every id an earlier one
handed out. Whatever state the incidents are in, a new start must neither reuse an id
(a channel id is unique in `incident`; a reused message id would make an edit or a
reaction land on an old message) nor lose the incidents that are still going on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from adapters.console.app import build_console
from adapters.console.session import ConsoleSession
from adapters.console.workspace import Workspace
from bot.app import App
from bot.clock import ManualClock
from bot.domain.timeline import EventKind
from storage import repository as repo
from storage.tables import Incident, TimelineEntry
from tests.conftest import make_settings

pytestmark = pytest.mark.usefixtures("db_url")  # on SQLite and PostgreSQL

STARTS = 5


async def start(tmp_path: Path) -> tuple[App, ConsoleSession]:
    return await build_console(make_settings(tmp_path), clock=ManualClock())


async def stored(app: App) -> tuple[list[Incident], list[TimelineEntry]]:
    async with app.db.reader() as tx:
        incidents = list(await repo.all_incidents(tx))
        entries = (await tx.exec(select(TimelineEntry).order_by(col(TimelineEntry.id)))).all()
    return incidents, list(entries)


def held_ids(incidents: list[Incident], entries: list[TimelineEntry]) -> set[str]:
    ids = {e.message_id for e in entries if e.message_id}
    for i in incidents:
        ids |= {i.channel_id or "", i.card_message_id or "", i.announce_message_id or ""}
    return ids - {""}


async def test_every_start_declares_the_next_incident_in_a_new_channel(tmp_path: Path):
    """Each start declares one incident, chats in it and leaves it in another state:
    resolved, closed, or still open. No start reuses an id the database holds."""
    ends = ("resolve Rolled back", "status closed", None)
    for k in range(STARTS):
        app, s = await start(tmp_path)
        try:
            before = held_ids(*await stored(app))
            s.as_user("alice")
            s.go("general")
            out = await s.send(f"/incident declare SEV2 Checkout errors {k}")
            assert out.incident_number == k + 1, s.render_reply(out)
            incidents, entries = await stored(app)
            new = incidents[-1]
            assert new.number == k + 1 and new.channel_id not in before
            assert new.channel_name is not None
            s.go(new.channel_name)
            said = await s.send("Seeing 502s")
            assert said.reply is None
            [chat] = [m for m in s.channel.messages if m.text == "Seeing 502s"]
            assert chat.id not in before
            end = ends[k % len(ends)]
            if end == "status closed":
                await s.send("/incident resolve Fixed")
            if end:
                out = await s.send(f"/incident {end}")
                assert "⚠️" not in s.render_reply(out), s.render_reply(out)
            assert not [m for m in s.ws.private if "Sorry" in m.message.text]
        finally:
            await app.stop()
    incidents, entries = await stored(app)
    assert [i.number for i in incidents] == list(range(1, STARTS + 1))
    assert len({i.channel_id for i in incidents}) == STARTS
    chats = [e.message_id for e in entries if e.kind == EventKind.CHAT]
    assert len(chats) == len(set(chats)) == STARTS
    assert not [e for e in entries if e.kind == EventKind.EFFECT_FAILED]


async def test_an_open_incident_carries_on_after_a_restart(tmp_path: Path):
    """Its channel, members, topic, pinned card (buttons and all) and announcement come
    back; commands, button presses, edits and reactions work in it; and its card and
    announcement are updated in place, without a failure report."""
    app, s = await start(tmp_path)
    try:
        s.as_user("alice")
        await s.send("/incident declare SEV2 Checkout errors --comms @bob")
        s.go("inc-1-checkout-errors")
        await s.send("first look: 502s")
        first = s.channel.messages[-1]
    finally:
        await app.stop()

    app, s = await start(tmp_path)
    try:
        incidents, _ = await stored(app)
        [inc] = incidents
        ch = s.ws.channel_by_name("inc-1-checkout-errors")
        assert ch is not None and ch.id == inc.channel_id
        assert {"UALICE", "UBOB"} <= ch.members
        assert "SEV2" in ch.topic
        [card] = [m for m in ch.messages if m.id == inc.card_message_id]
        assert card.pinned and card.rich is not None and "investigating" in card.text
        announcements = s.ws.channel_by_name("incidents")
        assert announcements is not None and announcements.id == inc.announce_channel_id
        assert [m.id for m in announcements.messages] == [inc.announce_message_id]

        s.as_user("alice")
        s.go(ch.name)
        await s.send("second look: rollback helped")
        again = ch.messages[-1]
        assert again.id != first.id  # a message id of the earlier run is not handed out again
        await s.edit(again.id, "second look: the rollback helped")
        await s.press(card.id, "Take commander")
        await s.send("/incident sev SEV1")
        assert "SEV1" in card.text and "SEV1" in ch.topic
        assert "SEV1" in announcements.messages[0].text

        incidents, entries = await stored(app)
        edited = [e for e in entries if e.kind == EventKind.CHAT_EDITED]
        assert [e.message_id for e in edited] == [again.id]
        assert not [e for e in entries if e.kind == EventKind.EFFECT_FAILED]
        assert (await repo_roles(app))["commander"] == "alice"
    finally:
        await app.stop()


async def repo_roles(app: App) -> dict[str, str]:
    async with app.db.reader() as tx:
        return {k: r.user_name for k, r in (await repo.roles(tx, incident_id=1)).items()}


def test_reserved_ids_are_never_handed_out_again() -> None:
    ws = Workspace()
    ws.reserve(["C007", "m41", "C-general", "inc-1", None, "m", "Cx"])
    assert ws.add_channel("inc-2-x").id == "C008"
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert ws.add_message(ws.channels["C008"], "UA", "hi", when).id == "m42"
    assert Workspace.standing_id("#General") == "C-general"
