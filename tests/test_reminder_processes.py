"""Timers across process boundaries: a restart mid-cadence, two processes (and two apps)
sharing one SQLite file, and the real APScheduler on the system clock."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.console.app import build_console
from adapters.console.workspace import Channel, Workspace
from bot import reminders
from bot.clock import ManualClock
from bot.scheduler import Scheduler
from storage.tables import DueItem
from tests.conftest import PLAYBOOKS, REPO, Console, make_settings
from tests.rhythm_support import (
    at,
    declare,
    due,
    incident_channel,
    playbooks_copy,
    reminders_in,
    say,
    summaries_in,
    timeline,
)

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL


async def declared(tmp_path: Path, clock: ManualClock) -> Console:
    settings = make_settings(tmp_path)
    app, session = await build_console(settings, clock=clock)
    c = Console(app=app, session=session, clock=clock, settings=settings)
    await declare(c, "SEV2 Database slow --playbook default")
    return c


async def reopened(c: Console, *, workspace: Workspace | None = None) -> Console:
    """Another app (its own engine, its own chat workspace) on the same database file."""
    app, session = await build_console(
        c.settings, clock=c.clock, workspace=workspace or Workspace()
    )
    return Console(app=app, session=session, clock=c.clock, settings=c.settings)


def fired_once_each(*runs: list[Any]) -> Counter[int]:
    return Counter(item_id for run in runs for item_id in run)


# --- restart ------------------------------------------------------------------------------


async def test_a_restart_mid_cadence_rebuilds_the_jobs_and_fires_on_time(tmp_path):
    # The manual clock runs a day ahead of real time so that no rebuilt job fires by itself.
    start = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    clock = ManualClock(start)
    a = await declared(tmp_path, clock)
    clock.advance(timedelta(minutes=10))
    await say(a, "Replica 2 lags by 40s", user="bob")
    pending = {k: i for k, i in (await due(a)).items() if i.due_at is not None}
    await a.app.stop()

    b = await reopened(a)
    try:
        update = pending[("update", "")]
        assert update.due_at == start + timedelta(minutes=30)
        scheduler = Scheduler(db=b.app.db, fire=b.app.bot.run_due)
        await scheduler.start()
        try:
            assert scheduler.job_ids == sorted(
                ["sweep", *(f"due:{i.id}" for i in pending.values())]
            )
            job = scheduler._sched.get_job(f"due:{update.id}")
            assert job is not None and job.next_run_time == update.due_at
        finally:
            scheduler.shutdown()

        clock.set(start + timedelta(minutes=30))
        fired = await b.app.bot.run_due()
        assert sorted(f.kind for f in fired) == ["checklist", "summary", "update"]
        ch = await incident_channel(b)
        assert "(restored from an earlier console session)" in ch.log
        [msg] = reminders_in(ch)
        assert "the last update was 30m ago" in msg.text
        [entry] = await timeline(b, "reminder")
        assert entry.at == update.due_at
        assert entry.data["due_at"] == update.due_at.isoformat()
        item = (await due(b))[("update", "")]
        assert (item.fired_count, item.last_fired_at) == (1, update.due_at)
        assert reminders_in(await incident_channel(a)) == []
    finally:
        await b.app.stop()


# --- two processes, one database ----------------------------------------------------------


async def test_two_processes_on_one_sqlite_file_post_each_reminder_once(tmp_path):
    a = await declared(tmp_path, ManualClock())
    await say(a, "Replica 2 lags by 40s", user="bob")
    items = {i.id: i for i in (await due(a)).values() if i.due_at is not None}
    await a.app.stop()

    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.due_worker",
            a.settings.database_url,
            str(PLAYBOOKS),
            at(30).isoformat(),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        async with asyncio.timeout(60):
            for w in workers:  # both are built and waiting ...
                assert w.stdout is not None
                assert await w.stdout.readline() == b"ready\n"
            outputs = await asyncio.gather(*(w.communicate(b"go\n") for w in workers))
    finally:  # ... and released together
        for w in workers:
            if w.returncode is None:
                w.kill()
    reports = []
    for w, (out, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, err.decode()
        reports.append(json.loads(out.decode().splitlines()[-1]))

    claimed = fired_once_each(*([i for i, _ in r["fired"]] for r in reports))
    assert claimed == Counter({i: 1 for i in items})
    reminder_posts = [
        [h for h in r["posted"] if h == "⏰ INC-1 is due a status update"] for r in reports
    ]
    assert sorted(len(p) for p in reminder_posts) == [0, 1]
    [poster] = [r for r, p in zip(reports, reminder_posts, strict=True) if p]
    assert [k for _, k in poster["fired"] if k == "update"] == ["update"]

    b = await reopened(a)
    try:
        update = (await due(b))[("update", "")]
        assert (update.fired_count, update.due_at) == (1, at(60))
        assert len(await timeline(b, "reminder")) == 1
        assert len(await timeline(b, "summary")) == 1
        assert len(await timeline(b, "checklist_due")) == 1
    finally:
        await b.app.stop()


async def test_two_apps_in_one_process_race_and_fire_once(tmp_path):
    a = await declared(tmp_path, ManualClock())
    b = await reopened(a)
    try:
        await say(a, "Replica 2 lags by 40s", user="bob")
        a.clock.set(at(30))
        fired_a, fired_b = await asyncio.gather(a.app.bot.run_due(), b.app.bot.run_due())
        claimed = fired_once_each([f.item_id for f in fired_a], [f.item_id for f in fired_b])
        assert sorted(claimed.values()) == [1, 1, 1]

        channels: list[Channel] = [await incident_channel(a), await incident_channel(b)]
        assert sum(len(reminders_in(ch)) for ch in channels) == 1
        assert sum(len(summaries_in(ch)) for ch in channels) == 1
        items: dict[tuple[str, str], DueItem] = await due(a)
        assert [i.fired_count for i in items.values()] == [1, 1, 1]
        assert len(await timeline(a, "reminder")) == 1
    finally:
        await a.app.stop()
        await b.app.stop()


# --- the real scheduler -------------------------------------------------------------------


async def test_the_real_scheduler_fires_a_reminder_on_the_system_clock(tmp_path):
    def fast(data: dict[str, Any]) -> None:
        data["update_cadence"]["SEV2"] = "2s"
        data["summary_cadence"] = None
        data["checklist"] = [{"text": step["text"]} for step in data["checklist"]]

    settings = make_settings(tmp_path, playbooks_dir=playbooks_copy(tmp_path, fast))
    app, session = await build_console(settings)  # the system clock
    try:
        await app.start_scheduler()
        session.as_user("alice")
        session.go("general")
        await session.send("/incident declare SEV2 Database slow --playbook default")
        ch = session.ws.channel_by_name("inc-1-database-slow")
        assert ch is not None
        async with app.db.reader() as tx:
            [item] = [i for i in await reminders.items(tx, incident_id=1) if i.due_at]
        assert item.kind == "update" and item.due_at is not None
        due_at = item.due_at

        for _ in range(120):  # up to 6 s; the reminder is due 2 s after the declare
            if reminders_in(ch):
                break
            await asyncio.sleep(0.05)
        first = reminders_in(ch)[0]
        assert "SEV2 incidents get one every 2s" in first.text
        assert due_at <= first.at < due_at + timedelta(seconds=2)
    finally:
        await app.stop()
