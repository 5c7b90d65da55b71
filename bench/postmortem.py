"""Postmortem draft of one incident with a long, busy timeline, against a plain read of it.

Setup (not timed): a SEV2 incident declared through the console platform, then a
realistic timeline bulk-inserted straight into `timeline_entry` until the incident has
`events` entries (default 20,000): chat mostly, in bursts, with edits and deletions,
notes, status updates, status / severity / role changes, pins, tasks, joins, alerts,
reminders and summaries. Text lengths vary from "ack" to pasted 4,000-character logs;
some text is multi-line and much of it is Markdown-hostile (emphasis, backticks, HTML
and `</details>`, table pipes, list / heading / quote markers, links, entities).
Participants, tasks, roles and the incident row (resolved) match the timeline.

Timed, alternating for `runs` rounds (best reported, every round listed):

- generate: `bot.service.postmortems.generate` end to end: the incident, roles, tasks
  and participants, the timeline read, the compile (escape + group + Jinja2) and the
  stored draft, committed.
- baseline: the same timeline rows (the same six columns, same order) read with a
  SQLAlchemy Core select on the same engine. `ratio` = generate / baseline seconds.

Memory: `peak_rss_mb` is the whole process (setup inserts in chunks so that it adds
little). `rounds_generate_peak_rss_mb` is the process's RSS peak during each generate
alone (Linux: the high-water mark is reset through /proc/self/clear_refs just before;
the first round creates the draft, later ones replace it), `generate_peak_rss_mb` the
highest of them and `generate_rss_growth_mb` that less the RSS before the first round. With trace=1,
`tracemalloc_peak_mb` is the peak of Python allocations during one extra, untimed
generate (tracing costs memory of its own, which then shows in `peak_rss_mb`).
Options (`key=value` arguments or BENCH_<KEY>): events (default 20000), runs (3), seed,
trace (0).
"""

from __future__ import annotations

import logging
import random
import re
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from adapters.console.app import build_console
from bench._timeline import PEOPLE, SPAN, Story, timeline
from bench.measure import meets, peak_rss_mb, temp_settings
from bench.registry import Options
from bot.clock import ManualClock, SystemClock
from bot.domain.timeline import EventKind
from bot.service.base import Deps
from bot.service.postmortems import generate
from storage.database import Database
from storage.tables import DueItem, Incident, Participant, RoleAssignment, Task, TimelineEntry

log = logging.getLogger("bench.postmortem")

TARGET = {"seconds": "<= 1.0", "peak_rss_mb": "<= 150"}
CHUNK = 2000  # rows per bulk insert; setup memory stays small

TIMELINE = TimelineEntry.__table__  # type: ignore[attr-defined]
K = EventKind


async def _insert(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        async with db.engine.begin() as conn:
            await conn.execute(insert(table), rows)


async def populate(
    db: Database, *, incident_id: int, start: datetime, events: int, seed: int
) -> int:
    """Bulk-insert the timeline and make the other tables match it; returns the entry count."""
    async with db.engine.connect() as conn:
        existing = (
            await conn.execute(select(func.count()).where(TIMELINE.c.incident_id == incident_id))
        ).scalar_one()
    story = Story(incident_id=incident_id, start=start, rng=random.Random(seed))
    chunk: list[dict[str, Any]] = []
    for row in timeline(story, max(events - existing, 2)):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            await _insert(db, TIMELINE, chunk)
            chunk = []
    await _insert(db, TIMELINE, chunk)

    end = story.status_at["resolved"]
    async with db.engine.begin() as conn:
        if story.deleted:
            await conn.execute(
                update(TIMELINE)
                .where(
                    TIMELINE.c.incident_id == incident_id,
                    TIMELINE.c.kind == K.CHAT.value,
                    TIMELINE.c.message_id.in_(sorted(story.deleted)),
                )
                .values(data={"deleted": True})
            )
        participants = Participant.__table__  # type: ignore[attr-defined]
        await conn.execute(delete(participants).where(participants.c.incident_id == incident_id))
        await conn.execute(
            insert(participants),
            [
                {"incident_id": incident_id, "user_id": u, "user_name": n, "joined_at": start}
                for u, n in story.joined.items()
            ],
        )
        roles = RoleAssignment.__table__  # type: ignore[attr-defined]
        await conn.execute(delete(roles).where(roles.c.incident_id == incident_id))
        holders = {"commander": PEOPLE[0], "comms": PEOPLE[1], "scribe": PEOPLE[2]}
        holders.update(story.roles)
        await conn.execute(
            insert(roles),
            [
                {
                    "incident_id": incident_id,
                    "role": r,
                    "user_id": u,
                    "user_name": n,
                    "assigned_at": start,
                }
                for r, (u, n) in holders.items()
            ],
        )
        tasks = [
            {
                "incident_id": incident_id,
                "number": n,
                "text": t["text"],
                "owner_id": t["owner"][0],
                "owner_name": t["owner"][1],
                "done": t["done"] is not None,
                "created_by_id": "U000",
                "created_at": t["at"],
                "done_at": t["done"],
            }
            for n, t in story.tasks.items()
        ]
        await conn.execute(insert(Task.__table__), tasks)  # type: ignore[attr-defined]
        update_text, update_at = story.latest_update or ("", None)
        await conn.execute(
            update(Incident.__table__)  # type: ignore[attr-defined]
            .where(Incident.__table__.c.id == incident_id)  # type: ignore[attr-defined]
            .values(
                status="resolved",
                severity=story.severity,
                summary="Checkout failures after a connection-pool config change in payments-api.",
                latest_update=update_text,
                last_update_at=update_at,
                identified_at=story.status_at["identified"],
                monitoring_at=story.status_at["monitoring"],
                resolved_at=end,
                updated_at=end,
            )
        )
        due = DueItem.__table__  # type: ignore[attr-defined]
        await conn.execute(update(due).where(due.c.incident_id == incident_id).values(due_at=None))
        total = (
            await conn.execute(select(func.count()).where(TIMELINE.c.incident_id == incident_id))
        ).scalar_one()
    return int(total)


# --- measuring ------------------------------------------------------------------------


def _status_kib(field_name: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def _reset_peak_rss() -> bool:
    """Reset the process's RSS high-water mark (Linux >= 4.0); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _mb(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def _timeline_lines(markdown: bytes) -> int:
    """Top-level list items between `## Timeline` and `## Action items`: one per entry."""
    body = markdown.split(b"\n## Timeline\n", 1)[1].split(b"\n## Action items\n", 1)[0]
    return sum(1 for line in body.splitlines() if line.startswith(b"- "))


async def _measure(
    deps: Deps, incident_id: int, events: int, runs: int, *, trace: bool
) -> dict[str, Any]:
    columns = [TIMELINE.c[n] for n in ("at", "kind", "actor_id", "actor_name", "text", "data")]
    read = (
        select(*columns)
        .where(TIMELINE.c.incident_id == incident_id)
        .order_by(TIMELINE.c.at, TIMELINE.c.id)
    )
    markdown = b""
    peaks: list[int] = []  # KiB, the process's RSS high-water mark over each generate

    async def one_generate() -> float:
        nonlocal markdown
        reset = _reset_peak_rss()
        start = time.perf_counter()
        draft = await generate(deps, incident_id=incident_id)
        elapsed = time.perf_counter() - start
        peak = _status_kib("VmHWM") if reset else None
        if peak is not None:
            peaks.append(peak)
        markdown = draft.content
        return elapsed

    async def one_read() -> float:
        start = time.perf_counter()
        async with deps.db.engine.connect() as conn:
            rows = (await conn.execute(read)).all()
        elapsed = time.perf_counter() - start
        if len(rows) != events:
            raise RuntimeError(f"baseline read {len(rows)} rows, expected {events}")
        return elapsed

    rss_before = _status_kib("VmRSS")
    gen: list[float] = []
    base: list[float] = []
    for r in range(runs):
        if r % 2:
            base.append(await one_read())
            gen.append(await one_generate())
        else:
            gen.append(await one_generate())
            base.append(await one_read())
        log.info("round %d: generate %.3fs, read %.3fs", r, gen[-1], base[-1])
    generate_peak = max(peaks) if peaks else None

    traced_peak: float | None = None
    if trace:  # after the rounds: tracing's own memory would count in the process peak
        tracemalloc.start()
        await generate(deps, incident_id=incident_id)
        traced_peak = round(tracemalloc.get_traced_memory()[1] / (1024 * 1024), 1)
        tracemalloc.stop()

    lines = _timeline_lines(markdown)
    if lines != events:
        raise RuntimeError(f"the draft's timeline lists {lines} entries, expected {events}")
    seconds, baseline = min(gen), min(base)
    return {
        "events": events,
        "runs": runs,
        "seconds": round(seconds, 4),
        "baseline_read_seconds": round(baseline, 4),
        "ratio": round(seconds / baseline, 2),
        "markdown_bytes": len(markdown),
        "rounds_seconds": [round(t, 4) for t in gen],
        "rounds_baseline_read_seconds": [round(t, 4) for t in base],
        "rss_before_generate_mb": _mb(rss_before),
        "generate_peak_rss_mb": _mb(generate_peak),
        "generate_rss_growth_mb": (
            _mb(generate_peak - rss_before) if generate_peak and rss_before else None
        ),
        "rounds_generate_peak_rss_mb": [_mb(p) for p in peaks],
    } | ({"tracemalloc_peak_mb": traced_peak} if trace else {})


async def run(opts: Options) -> dict[str, Any]:
    events = opts.int("events", 20_000, minimum=20)
    runs = opts.int("runs", 3, minimum=1)
    seed = opts.int("seed", 20_000)
    trace = opts.int("trace", 0) > 0
    declared = SystemClock().now() - SPAN - timedelta(hours=1)
    clock = ManualClock(declared)
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        settings = temp_settings(tmp)
        app, session = await build_console(settings, clock=clock)
        try:
            session.as_user("alice")
            out = await session.send("/incident declare SEV2 Checkout failing for EU customers")
            async with app.db.engine.connect() as conn:
                incident_id = (await conn.execute(select(Incident.__table__.c.id))).scalar_one()  # type: ignore[attr-defined]
            if out.incident_number is None:
                raise RuntimeError("declare failed")
            setup = time.perf_counter()
            total = await populate(
                app.db, incident_id=incident_id, start=declared, events=events, seed=seed
            )
            log.info("setup: %d entries in %.1fs", total, time.perf_counter() - setup)
            clock.set(SystemClock().now())
            figures = await _measure(app.bot.deps, incident_id, total, runs, trace=trace)
        finally:
            await app.stop()
    figures["peak_rss_mb"] = peak_rss_mb()  # the whole process, setup included
    figures["target"] = TARGET
    figures["ok"] = meets(TARGET, figures)
    return figures
