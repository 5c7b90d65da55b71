"""Update reminders of many open incidents falling due at once, on the real clock.

Setup (not timed): `incidents` (default 5,000) open SEV1 incidents on the default
playbook, bulk-inserted with the rows declare and the first minutes of an incident leave
behind: the incident (channel, pinned card, announcement), commander and comms roles,
participants, the timeline (declared, roles, channel, card, invitations, announcement,
the 15-minute checklist step, one status update) and the due items (the update reminder,
the summary in ten minutes, the checklist step already fired). Their console channels are
restored into the workspace, so posting works as for any open incident.

Then, on the real clock (`SystemClock`), every update reminder is set due at a time
spread uniformly over now+3s .. now+13s, `App.start_scheduler()` starts the real
APScheduler-backed `Scheduler`, and the run waits (at most `wait` seconds after the last
due time) until every reminder has been posted, then a second more for stragglers.

Checked: each incident has exactly one REMINDER timeline entry and its channel exactly
one reminder message; `duplicates` and `missing` count the exceptions. Lateness is the
console message's timestamp (taken from the clock when the port posted it) minus the
item's due time. `fired_at_` figures use the item's `last_fired_at` instead: the clock
reading of the firing pass that claimed it, taken when that pass began. The workspace is
only scanned after the last due time, so that watching does not slow the firing down.
Options (`key=value` arguments or BENCH_<KEY>): incidents (default 5000), spread (10),
lead (3), wait (60).
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from adapters.console.app import build_console, restore
from adapters.console.workspace import Workspace
from bench.measure import meets, peak_rss_mb, temp_settings
from bench.registry import Options
from bot import reminders
from bot.app import App
from bot.clock import SystemClock
from bot.domain.timeline import EventKind
from storage.tables import DueItem, Incident, Participant, RoleAssignment, TimelineEntry

log = logging.getLogger("bench.reminders")

TARGET = {"p99_lateness_s": "<= 1.0", "duplicates": "<= 0", "missing": "<= 0"}  # + fired
CADENCE = timedelta(minutes=15)  # the default playbook's SEV1 update cadence
AGE = timedelta(minutes=20)  # how long ago the incidents were declared
CHECKLIST_STEP = 2  # the default playbook's "Post the first status update" (after 15m)
HEADER = "is due a status update"  # bot/templates/reminder.j2

INCIDENT = Incident.__table__  # type: ignore[attr-defined]
ROLE = RoleAssignment.__table__  # type: ignore[attr-defined]
PARTICIPANT = Participant.__table__  # type: ignore[attr-defined]
TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]
DUE = DueItem.__table__  # type: ignore[attr-defined]


def _rows(
    n: int, number: int, *, at: datetime, announce: str, general: str
) -> dict[str, list[dict[str, Any]]]:
    """The rows of incident `number` (id `n`), declared at `at` by alice."""
    alice, bob = ("UALICE", "alice"), ("UBOB", "bob")
    channel, title = f"C9{number:05d}", f"Checkout latency in region {number % 7}"
    update_at = at + timedelta(minutes=3)
    incident = {
        "id": n, "number": number, "title": title, "summary": "", "severity": "SEV1",
        "status": "investigating", "playbook": "default", "impact": None, "urgency": None,
        "private": False, "drill": False, "platform": "console", "declared_by_id": alice[0],
        "declared_by_name": alice[1], "origin_channel_id": general, "channel_id": channel,
        "channel_name": f"inc-{number}-checkout-latency-in-region-{number % 7}",
        "card_message_id": f"card{number}", "announce_channel_id": announce,
        "announce_message_id": f"ann{number}", "latest_update": "Investigating p99 latency.",
        "last_update_at": update_at, "declared_at": at, "identified_at": None,
        "monitoring_at": None, "resolved_at": None, "closed_at": None, "updated_at": update_at,
    }  # fmt: skip

    def entry(kind: EventKind, text: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
        row = {"incident_id": n, "at": at, "kind": kind.value, "actor_id": "", "actor_name": "",
               "text": text, "message_id": None, "data": data}  # fmt: skip
        row.update(extra)
        return row

    by_alice = {"actor_id": alice[0], "actor_name": alice[1]}
    timeline = [
        entry(EventKind.DECLARED, title, {"severity": "SEV1", "playbook": "default",
              "private": False, "drill": False, "impact": None, "urgency": None}, **by_alice),
        entry(EventKind.ROLE, "Incident commander: alice", {"role": "commander",
              "user_id": alice[0], "user_name": alice[1]}, **by_alice),
        entry(EventKind.ROLE, "Comms lead: bob", {"role": "comms", "user_id": bob[0],
              "user_name": bob[1]}, **by_alice),
        entry(EventKind.CHANNEL_CREATED, f"#{incident['channel_name']}",
              {"channel_id": channel, "name": incident["channel_name"]}),
        entry(EventKind.CARD_POSTED, "incident card posted", {},
              message_id=incident["card_message_id"]),
        entry(EventKind.INVITED, "UALICE, UBOB", {"user_ids": [alice[0], bob[0]]}),
        entry(EventKind.ANNOUNCED, "#incidents", {"channel_id": announce,
              "message_id": incident["announce_message_id"]}),
        entry(EventKind.UPDATE, "Investigating p99 latency.", {}, at=update_at, **by_alice),
        entry(EventKind.CHECKLIST_DUE, "Post the first status update", {"step": 2},
              at=at + timedelta(minutes=15)),
    ]  # fmt: skip
    roles = [
        {"incident_id": n, "role": role, "user_id": uid, "user_name": name, "assigned_at": at}
        for role, (uid, name) in (("commander", alice), ("comms", bob))
    ]
    people = [
        {"incident_id": n, "user_id": uid, "user_name": name, "joined_at": at}
        for uid, name in (alice, bob)
    ]
    due = [
        # The update reminder: re-timed just before the scheduler starts (see `_arm`).
        {"incident_id": n, "kind": reminders.UPDATE, "ref": "", "due_at": at + timedelta(days=1),
         "fired_count": 0, "last_fired_at": None, "cursor": 0},
        {"incident_id": n, "kind": reminders.SUMMARY, "ref": "",
         "due_at": at + timedelta(minutes=30), "fired_count": 0, "last_fired_at": None,
         "cursor": 0},
        {"incident_id": n, "kind": reminders.CHECKLIST, "ref": str(CHECKLIST_STEP),
         "due_at": None, "fired_count": 1, "last_fired_at": at + timedelta(minutes=15),
         "cursor": 0},
    ]  # fmt: skip
    return {"incident": [incident], "timeline": timeline, "roles": roles, "people": people,
            "due": due}  # fmt: skip


async def populate(app: App, ws: Workspace, count: int) -> list[int]:
    """Insert `count` open incidents and restore their channels; returns their ids."""
    announce = ws.channel_by_name(app.settings.announce_channel)
    general = ws.channel_by_name("general")
    assert announce is not None and general is not None
    at = SystemClock().now() - AGE
    tables = {"incident": INCIDENT, "roles": ROLE, "people": PARTICIPANT, "timeline": TIMELINE,
              "due": DUE}  # fmt: skip
    ids = list(range(1, count + 1))
    async with app.db.engine.begin() as conn:
        for start in range(0, count, 1000):
            batch: dict[str, list[dict[str, Any]]] = {k: [] for k in tables}
            for n in ids[start : start + 1000]:
                for key, rows in _rows(
                    n, n, at=at, announce=announce.id, general=general.id
                ).items():
                    batch[key].extend(rows)
            for key, table in tables.items():
                await conn.execute(insert(table), batch[key])
    restored = await restore(ws, app)
    if restored != count:
        raise RuntimeError(f"restored {restored} console channels, expected {count}")
    return ids


async def _arm(
    app: App, ids: list[int], *, lead: float, spread: float, seed: int
) -> dict[int, datetime]:
    """Set every update reminder due over now+lead .. now+lead+spread; returns the due times."""
    rng = random.Random(seed)
    now = SystemClock().now()
    due = {
        n: now + timedelta(seconds=lead + rng.uniform(0, spread)) for n in ids
    }  # incident id -> due
    async with app.db.engine.begin() as conn:
        await conn.execute(
            update(DUE)
            .where(DUE.c.incident_id == bindparam("n"), DUE.c.kind == reminders.UPDATE)
            .values(due_at=bindparam("due")),
            [{"n": n, "due": d} for n, d in due.items()],
        )
        await conn.execute(
            update(INCIDENT)
            .where(INCIDENT.c.id == bindparam("n"))
            .values(last_update_at=bindparam("last"), updated_at=bindparam("last")),
            [{"n": n, "last": d - CADENCE} for n, d in due.items()],
        )
    return due


def _reminders_posted(ws: Workspace, channels: dict[str, int]) -> dict[int, list[datetime]]:
    """Incident id -> the times its channel received an update reminder."""
    posted: dict[int, list[datetime]] = {}
    for channel_id, n in channels.items():
        for msg in ws.channels[channel_id].messages:
            if msg.rich is not None and HEADER in msg.rich.header:
                posted.setdefault(n, []).append(msg.at)
    return posted


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _check(app: App) -> tuple[Counter[int], dict[int, datetime]]:
    """REMINDER entries per incident, and each update item's claim time."""
    async with app.db.engine.connect() as conn:
        entries = (
            await conn.execute(
                select(TIMELINE.c.incident_id, func.count())
                .where(TIMELINE.c.kind == EventKind.REMINDER.value)
                .group_by(TIMELINE.c.incident_id)
            )
        ).all()
        claims = (
            await conn.execute(
                select(DUE.c.incident_id, DUE.c.last_fired_at).where(
                    DUE.c.kind == reminders.UPDATE, DUE.c.fired_count > 0
                )
            )
        ).all()
    counts: Counter[int] = Counter({n: int(c) for n, c in entries})
    return counts, {n: at for n, at in claims if at is not None}


async def _measure(app: App, ws: Workspace, ids: list[int], opts: Options) -> dict[str, Any]:
    spread = opts.int("spread", 10, minimum=1)
    lead = opts.int("lead", 3)
    wait = opts.int("wait", 60, minimum=1)
    async with app.db.engine.connect() as conn:
        rows = (await conn.execute(select(INCIDENT.c.id, INCIDENT.c.channel_id))).all()
    channels = {str(c): int(n) for n, c in rows}

    due = await _arm(app, ids, lead=lead, spread=spread, seed=len(ids))
    started = time.perf_counter()
    await app.start_scheduler()
    start_seconds = time.perf_counter() - started
    last_due = max(due.values())
    deadline = last_due + timedelta(seconds=wait)
    clock = SystemClock()
    await asyncio.sleep(max(0.0, (last_due - clock.now()).total_seconds()))
    while clock.now() < deadline:
        if len(_reminders_posted(ws, channels)) >= len(ids):
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1.0)  # a late duplicate would show up now
    scheduler = app.scheduler
    assert scheduler is not None
    await scheduler.idle()
    finished = clock.now()

    posted = _reminders_posted(ws, channels)
    counts, claimed = await _check(app)
    duplicates = sum(max(0, c - 1) for c in counts.values())
    duplicates += sum(max(0, len(p) - 1) for p in posted.values())
    missing = len(set(ids) - set(counts)) + len(set(ids) - set(posted))
    lateness = [(p[0] - due[n]).total_seconds() for n, p in posted.items()]
    fired_lateness = [(at - due[n]).total_seconds() for n, at in claimed.items()]
    failures = sum(
        1
        for c in channels
        for m in ws.channels[c].messages
        if m.rich is not None and "could not" in (m.rich.header + m.rich.text).lower()
    )
    return {
        "count": len(ids),
        "fired": sum(1 for n in ids if counts.get(n) == 1 and len(posted.get(n, ())) == 1),
        "duplicates": duplicates,
        "missing": missing,
        "reminder_entries": sum(counts.values()),
        "reminder_messages": sum(len(p) for p in posted.values()),
        "effect_failures": failures,
        "p50_lateness_s": round(_quantile(lateness, 0.5), 3),
        "p99_lateness_s": round(_quantile(lateness, 0.99), 3),
        "max_lateness_s": round(max(lateness, default=float("nan")), 3),
        "mean_lateness_s": round(statistics.fmean(lateness), 3) if lateness else None,
        "fired_at_p50_lateness_s": round(_quantile(fired_lateness, 0.5), 3),
        "fired_at_p99_lateness_s": round(_quantile(fired_lateness, 0.99), 3),
        "scheduler_start_s": round(start_seconds, 3),
        "window_s": spread,
        "drained_after_last_due_s": round((finished - last_due).total_seconds(), 2),
    }


async def run(opts: Options) -> dict[str, Any]:
    count = opts.int("incidents", 5000, minimum=1)
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        settings = temp_settings(tmp)
        ws = Workspace()
        app, _session = await build_console(settings, clock=SystemClock(), workspace=ws)
        try:
            setup = time.perf_counter()
            ids = await populate(app, ws, count)
            log.info("setup: %d incidents in %.1fs", count, time.perf_counter() - setup)
            figures = await _measure(app, ws, ids, opts)
        finally:
            await app.stop()
    figures["rss_mb"] = peak_rss_mb()
    figures["target"] = target = {**TARGET, "fired": f">= {count}"}
    figures["ok"] = meets(target, figures)
    return figures
