"""A long postmortem draft compiles without holding up the rest of warroom.

The draft is read without the write lock and compiled in a worker thread, so commands
sent while it compiles are answered (and committed) before it finishes. Had it kept the
write lock or the event loop for the whole compile, they would finish after it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bench.postmortem import populate
from bot.service.postmortems import generate, latest
from storage import repository as repo
from storage.tables import TimelineEntry
from tests.conftest import Console

ENTRIES = 15_000


async def test_commands_are_answered_while_a_long_draft_compiles(console: Console) -> None:
    s = console.session
    s.as_user("alice")
    await s.send("/incident declare SEV2 Checkout errors")
    async with console.app.db.reader() as tx:
        [incident] = await repo.all_incidents(tx)
    assert incident.id is not None and incident.channel_name
    start = console.clock.now() - timedelta(days=1)
    await populate(console.app.db, incident_id=incident.id, start=start, events=ENTRIES, seed=5)
    s.go(incident.channel_name)

    draft = asyncio.create_task(generate(console.app.bot.deps, incident_id=incident.id))
    await asyncio.sleep(0)  # it starts: its read, then the compile in a thread
    for n in range(2):
        out = await s.send(f"/incident note checked pod {n}")
        assert out.reply is not None and "Added a note" in out.reply.text, out.reply
    assert not draft.done(), "the notes waited for the whole compile"

    compiled = await draft
    assert compiled.revision == 1 and len(compiled.content) > ENTRIES * 20
    stored = await latest(console.app.db, incident_id=incident.id)
    assert stored is not None and stored.content == compiled.content
    notes = [
        e
        for e in await _timeline(console, incident.id)
        if e.kind == "note" and e.text.startswith("checked pod")
    ]
    assert len(notes) == 2


async def _timeline(console: Console, incident_id: int) -> list[TimelineEntry]:
    async with console.app.db.reader() as tx:
        return list(await repo.timeline(tx, incident_id=incident_id))
