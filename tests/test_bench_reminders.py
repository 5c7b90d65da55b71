"""`python -m bench reminders` at a tiny size, and the scheduler behaviour it relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col

from adapters.console.app import build_console
from bench import reminders as bench
from bench.registry import Options
from bot import reminders
from bot.clock import ManualClock
from bot.scheduler import Scheduler, job_id
from storage.tables import DueItem
from tests.conftest import make_settings


async def test_the_benchmark_fires_every_reminder_once_on_the_real_scheduler():
    opts = Options({"incidents": "30", "lead": "1", "spread": "1", "wait": "20"}, env={})
    figures = await bench.run(opts)
    assert (figures["count"], figures["fired"]) == (30, 30)
    assert (figures["duplicates"], figures["missing"], figures["effect_failures"]) == (0, 0, 0)
    assert figures["reminder_entries"] == figures["reminder_messages"] == 30
    assert 0 <= figures["p50_lateness_s"] <= figures["p99_lateness_s"]
    assert figures["p99_lateness_s"] <= figures["max_lateness_s"]


async def test_resyncs_during_a_firing_pass_are_done_when_the_pass_ends(tmp_path):
    # A day ahead of real time, so that APScheduler fires nothing by itself.
    clock = ManualClock((datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0))
    app, session = await build_console(make_settings(tmp_path), clock=clock)
    try:
        session.as_user("alice")
        await session.send("/incident declare SEV2 Database slow --playbook default")
        async with app.db.reader() as tx:
            [item] = [i for i in await reminders.items(tx, incident_id=1) if i.kind == "update"]
        assert item.id is not None and item.due_at is not None
        item_id, later = item.id, item.due_at + timedelta(hours=1)
        during: list[datetime | None] = []

        async def fire() -> None:  # stands in for `run_due`: a change, then its re-sync
            async with app.db.transaction() as tx:
                stmt = update(DueItem).where(col(DueItem.id) == item_id).values(due_at=later)
                await tx.exec(stmt)
            await scheduler.sync(1)
            during.append(scheduler._sched.get_job(job_id(item_id)).next_run_time)

        scheduler = Scheduler(db=app.db, fire=fire)
        await scheduler.start()
        try:
            await scheduler.wake()
            assert during == [item.due_at]  # noted during the pass ...
            job = scheduler._sched.get_job(job_id(item_id))
            assert job is not None and job.next_run_time == later  # ... placed at its end
            await scheduler.sync(1)  # outside a pass: at once, and an unchanged job stays
            assert scheduler._sched.get_job(job_id(item_id)) is job
        finally:
            scheduler.shutdown()
    finally:
        await app.stop()
