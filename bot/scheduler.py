"""APScheduler jobs derived from the database, never the other way round.

Each pending due item gets one date job with the deterministic id `due:<item id>`.
Jobs are rebuilt from the table at start and re-synced after every change; a periodic
sweep also picks up items that another process changed. A job only wakes `fire`, which
re-reads the database and claims what is really due.

`recover` (optional) finishes declares that a crashed process left without a channel
(`bot/service/recovery.py`): it runs at start, before the jobs are derived, and on every
sweep, and returns the incidents it changed and when to look again (a setup lease held by
another process runs out then), for which a one-off `recover` job is placed.

While `fire` runs, re-syncs are collected and done together when it returns (one query
for all the incidents it touched, before `wake` returns): a pass that fires thousands of
reminders would otherwise read the table once per incident and fall behind the clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import col, select

from storage.database import Database
from storage.tables import DueItem

log = logging.getLogger("warroom.scheduler")
SWEEP = "sweep"
RECOVER = "recover"
RECOVER_SLACK = timedelta(milliseconds=100)  # look again just after a lease runs out
Recover = Callable[[], Awaitable[tuple[list[int], datetime | None]]]
SYNC_CHUNK = 500  # incidents per query when re-syncing many at once


def job_id(item_id: int) -> str:
    return f"due:{item_id}"


class Scheduler:
    def __init__(
        self,
        *,
        db: Database,
        fire: Callable[[], Awaitable[Any]],
        sweep_every: timedelta = timedelta(seconds=30),
        recover: Recover | None = None,
    ) -> None:
        self.db = db
        self._fire = fire
        self._recover = recover
        self._recovering = False
        self._sweep_every = sweep_every
        self._sched = AsyncIOScheduler(timezone=UTC)
        self._running = False
        self._again = False
        self._deferred: set[int] = set()  # incidents to re-sync when the firing pass ends
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def job_ids(self) -> list[str]:
        return sorted(j.id for j in self._sched.get_jobs())

    async def start(self) -> None:
        self._sched.start()
        self._sched.add_job(
            self.sweep,
            IntervalTrigger(seconds=self._sweep_every.total_seconds()),
            id=SWEEP,
            replace_existing=True,
            coalesce=True,
        )
        await self.recover()
        await self.rebuild()

    async def sweep(self) -> None:
        await self.recover()
        await self._wake_job()

    async def _wake_job(self) -> None:
        """`wake`, shielded: shutting APScheduler down cancels the jobs that are running, and
        a pass cancelled between its claim and its posts would lose what it had claimed
        (recorded as fired, never posted). The pass runs on; `idle()` waits for it."""
        try:
            await asyncio.shield(self.wake())
        except asyncio.CancelledError:
            # Shutting down cancelled the job, not the pass: it runs on, and `idle()`
            # waits for it. Nothing to report (APScheduler would log a traceback).
            if not self._sched.running:
                return
            raise

    async def recover(self) -> None:
        """Finish interrupted declares (one pass at a time), then re-derive their jobs."""
        if self._recover is None or self._recovering:
            return
        self._recovering = True
        try:
            changed, next_check = await self._recover()
        except Exception:
            log.exception("resuming interrupted declares failed; the sweep will retry")
            return
        finally:
            self._recovering = False
        for incident_id in changed:
            await self.sync(incident_id)
        if next_check is not None:
            self._sched.add_job(
                self.recover,
                DateTrigger(run_date=next_check + RECOVER_SLACK),
                id=RECOVER,
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )

    def shutdown(self) -> None:
        if self._sched.running:
            self._sched.shutdown(wait=False)

    async def rebuild(self) -> int:
        """Drop every due job and derive them again from the table."""
        for job in self._sched.get_jobs():
            if job.id.startswith("due:"):
                job.remove()
        async with self.db.reader() as tx:
            rows = (
                await tx.exec(
                    select(DueItem.id, DueItem.due_at).where(col(DueItem.due_at).is_not(None))
                )
            ).all()
        for item_id, due_at in rows:
            if item_id is not None and due_at is not None:
                self._place(item_id, due_at)
        log.info("scheduler rebuilt: %d pending", len(rows))
        return len(rows)

    async def sync(self, incident_id: int) -> None:
        """Re-derive the jobs of one incident after a change.

        During a firing pass the incident is noted and re-synced when the pass ends."""
        if self._running:
            self._deferred.add(incident_id)
            return
        await self._sync([incident_id])

    async def _sync(self, incident_ids: list[int]) -> None:
        for start in range(0, len(incident_ids), SYNC_CHUNK):
            chunk = incident_ids[start : start + SYNC_CHUNK]
            async with self.db.reader() as tx:
                rows = (
                    await tx.exec(
                        select(DueItem.id, DueItem.due_at).where(
                            col(DueItem.incident_id).in_(chunk)
                        )
                    )
                ).all()
            for item_id, due_at in rows:
                if item_id is None:
                    continue
                if due_at is None:
                    job = self._sched.get_job(job_id(item_id))
                    if job is not None:
                        job.remove()
                else:
                    self._place(item_id, due_at)

    async def _sync_deferred(self) -> None:
        while self._deferred:
            incident_ids = sorted(self._deferred)
            self._deferred.clear()
            try:
                await self._sync(incident_ids)
            except Exception:
                log.exception("re-deriving jobs failed; the sweep will fire what is due")

    def _place(self, item_id: int, due_at: datetime) -> None:
        job = self._sched.get_job(job_id(item_id))
        if job is not None and getattr(job, "next_run_time", None) == due_at:
            return  # already there: replacing it would only wake the scheduler up
        self._sched.add_job(
            self._wake_job,
            DateTrigger(run_date=due_at),
            id=job_id(item_id),
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            # Re-placed while its last run's pass still goes on, the job must run again
            # (wake folds it into that pass); APScheduler would otherwise skip it.
            max_instances=2,
        )

    async def wake(self) -> None:
        """Run `fire`; calls that arrive while it runs fold into one more pass."""
        if self._running:
            self._again = True
            return
        self._running = True
        self._idle.clear()
        try:
            while True:
                self._again = False
                try:
                    await self._fire()
                except Exception:
                    log.exception("firing due work failed; the sweep will retry")
                await self._sync_deferred()
                if not self._again:
                    break
        finally:
            self._running = False
            self._idle.set()

    async def idle(self) -> None:
        await self._idle.wait()
