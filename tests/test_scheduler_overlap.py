"""A due item's job placed again while its last run's firing pass still goes on.

That happens when a pass takes longer than the gap to the item's next due time (a
loaded machine, a short cadence, thousands of reminders): the pass re-derives the job
before it ends. APScheduler allowed one running instance per job and skipped the new
run ("maximum number of running instances reached"), so the item waited for the next
sweep, 30 s later. The run must go on and fold into the pass (`Scheduler.wake`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.scheduler import Scheduler
from tests.conftest import Console
from tests.waiting import WITHIN, until


async def test_a_job_placed_again_during_its_own_pass_runs_again(console: Console):
    await console.session.send("/incident declare SEV2 Checkout errors --playbook default")
    past = datetime.now(UTC) - timedelta(minutes=1)  # due at once, whenever it is placed
    async with console.app.db.transaction() as tx:  # one due item: one job
        await tx.exec(  # type: ignore[call-overload]
            text("UPDATE due_item SET due_at = CASE WHEN kind = 'update' THEN :at END"),
            params={"at": past},
        )
    hold, passes = asyncio.Event(), list[int]()

    async def fire() -> None:  # a firing pass that takes as long as the test says
        passes.append(len(passes) + 1)
        if len(passes) == 1:
            await hold.wait()

    scheduler = Scheduler(db=console.app.db, fire=fire)
    try:
        await scheduler.start()
        await until("the first pass to start", lambda: passes)
        await scheduler.rebuild()  # the job again, while the pass it started still runs
        await until("the job placed again to have run", lambda: scheduler.job_ids == ["sweep"])
        hold.set()
        await asyncio.wait_for(scheduler.idle(), WITHIN)
    finally:
        scheduler.shutdown()
    assert passes == [1, 2]
