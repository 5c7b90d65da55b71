"""`/incident note` throughput on one open incident, against a raw insert+commit baseline.

Everything writes the same `timeline_entry` row shape to one SQLite file in a temp dir,
through one engine built by `Database.connect` (WAL, synchronous=NORMAL, BEGIN IMMEDIATE),
one row per transaction, sequentially:

- commands: `session.send("/incident note ...")` on the console platform; each is a
  distinct inbound event through `Bot.handle` (parse, one transaction holding the
  idempotency claim, the incident lookup and the note, commit, private reply).
- baseline: the raw SQLAlchemy way to insert that row in its own transaction:
  `async with engine.begin() as conn: await conn.execute(insert(timeline_entry), row)`,
  per row. Each command also runs in its own transaction from the pool, so this is the
  like-for-like unit. `ratio` = commands_per_s / baseline_inserts_per_s.
- held (for information, stricter): the same insert on ONE held connection, then COMMIT,
  per row, skipping the pool checkout and return that every real event pays.
  `held_ratio` = commands_per_s / held_inserts_per_s.
- floor (for information): the statements a note command's transaction must run (claim
  the event key, look the incident up by channel, insert the note, commit), issued
  directly through Core on one held connection: what any implementation keeping those
  in one transaction could reach. `floor_ratio` = floor_txn_per_s / baseline.

After a warm-up of each, the three alternate for `rounds` rounds (the order rotating each
round) and each one's best round is reported; every round's figure is listed too.
Options (`key=value` arguments or BENCH_<KEY>): n (default 3000), warmup, rounds.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from adapters.console.app import build_console
from adapters.console.session import ConsoleSession
from bench.measure import meets, rate, temp_settings, timed
from bench.registry import Options
from bot.app import App
from bot.clock import Clock, SystemClock
from bot.domain.timeline import EventKind
from storage.tables import Incident, ProcessedEvent, TimelineEntry

log = logging.getLogger("bench.notes")

TARGET = {"ratio": ">= 0.5", "commands_per_s": ">= 1000"}
USER = "alice"
FLOOR_KEY = "bench-floor:"

Run = Callable[[], Awaitable[None]]


class _Sequence:
    """Numbers the notes across all loops, so every row's text is distinct."""

    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def _text(i: int) -> str:
    return f"step {i}: checked the error-rate dashboard, p99 back under 300ms"


class _Setup:
    def __init__(self, app: App, session: ConsoleSession, clock: Clock, incident: Incident):
        assert incident.id is not None and incident.channel_id is not None
        self.app, self.session, self.clock = app, session, clock
        self.incident_id, self.channel_id = incident.id, incident.channel_id
        self.seq = _Sequence()

    def row(self) -> dict[str, Any]:
        """The timeline row a note command writes, column for column."""
        return {
            "incident_id": self.incident_id,
            "at": self.clock.now(),
            "kind": EventKind.NOTE.value,
            "actor_id": self.session.user.id,
            "actor_name": self.session.user.name,
            "text": _text(self.seq.next()),
            "message_id": None,
            "data": {},
        }

    def commands(self, n: int) -> Run:
        async def go() -> None:
            for _ in range(n):
                await self.session.send(f"/incident note {_text(self.seq.next())}")

        return go

    def inserts(self, n: int) -> Run:
        stmt = insert(TimelineEntry.__table__)  # type: ignore[attr-defined]
        engine = self.app.db.engine

        async def go() -> None:
            for _ in range(n):
                async with engine.begin() as conn:
                    await conn.execute(stmt, self.row())

        return go

    def held(self, n: int) -> Run:
        stmt = insert(TimelineEntry.__table__)  # type: ignore[attr-defined]

        async def go() -> None:
            async with self.app.db.engine.connect() as conn:
                for _ in range(n):
                    await conn.execute(stmt, self.row())
                    await conn.commit()

        return go

    def floor(self, n: int) -> Run:
        claim = sqlite_insert(ProcessedEvent.__table__).on_conflict_do_nothing()  # type: ignore[attr-defined]
        lookup = select(Incident.__table__).where(  # type: ignore[attr-defined]
            col(Incident.channel_id) == self.channel_id
        )
        note = insert(TimelineEntry.__table__)  # type: ignore[attr-defined]

        async def go() -> None:
            async with self.app.db.engine.connect() as conn:
                for _ in range(n):
                    row = self.row()
                    key = f"{FLOOR_KEY}{self.seq.value}"
                    claimed = await conn.execute(claim, {"key": key, "at": row["at"]})
                    if not claimed.rowcount or (await conn.execute(lookup)).first() is None:
                        raise RuntimeError("floor transaction went wrong")
                    await conn.execute(note, row)
                    await conn.commit()

        return go

    async def counts(self) -> tuple[int, int]:
        """(console event keys claimed, note rows of the incident)."""
        async with self.app.db.reader() as tx:
            events = (
                await tx.exec(
                    select(func.count()).where(col(ProcessedEvent.key).startswith("console:"))
                )
            ).one()
            notes = (
                await tx.exec(
                    select(func.count()).where(
                        col(TimelineEntry.incident_id) == self.incident_id,
                        col(TimelineEntry.kind) == EventKind.NOTE.value,
                    )
                )
            ).one()
        return int(events), int(notes)


async def _measure(setup: _Setup, opts: Options) -> dict[str, Any]:
    n = opts.int("n", 3000, minimum=1)
    warmup = opts.int("warmup", 300)
    rounds = opts.int("rounds", 3, minimum=1)

    kinds: dict[str, Callable[[int], Run]] = {
        "commands": setup.commands,
        "inserts": setup.inserts,
        "held": setup.held,
        "floor": setup.floor,
    }
    events_before, notes_before = await setup.counts()
    for make in kinds.values():
        await make(warmup)()
    times: dict[str, list[float]] = {k: [] for k in kinds}
    order = list(kinds)
    for r in range(rounds):
        for kind in order[r % len(order) :] + order[: r % len(order)]:
            times[kind].append(await timed(kinds[kind](n)))
        log.info("round %d: %s", r, {k: f"{v[-1]:.3f}s" for k, v in times.items()})
    # The commands really ran: one claimed event key and one note row each.
    each = warmup + rounds * n
    events, notes = await setup.counts()
    if (events - events_before, notes - notes_before) != (each, len(kinds) * each):
        raise RuntimeError(
            f"expected {each} note commands and {len(kinds) * each} notes, found "
            f"{events - events_before} commands and {notes - notes_before} notes"
        )

    commands_per_s = rate(n, min(times["commands"]))
    baseline = rate(n, min(times["inserts"]))
    floor = rate(n, min(times["floor"]))
    held = rate(n, min(times["held"]))
    figures: dict[str, Any] = {
        "n": n,
        "rounds": rounds,
        "commands_per_s": commands_per_s,
        "baseline_inserts_per_s": baseline,
        "ratio": round(commands_per_s / baseline, 3),
        "held_inserts_per_s": held,
        "held_ratio": round(commands_per_s / held, 3),
        "floor_txn_per_s": floor,
        "floor_ratio": round(floor / baseline, 3),
        "rounds_commands_per_s": [rate(n, t) for t in times["commands"]],
        "rounds_baseline_inserts_per_s": [rate(n, t) for t in times["inserts"]],
        "target": TARGET,
    }
    figures["ok"] = meets(TARGET, figures)
    return figures


async def run(opts: Options) -> dict[str, Any]:
    clock = SystemClock()
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        settings = temp_settings(tmp)
        app, session = await build_console(settings, clock=clock)
        try:
            session.as_user(USER)
            out = await session.send("/incident declare SEV2 Benchmark: checkout latency")
            async with app.db.reader() as tx:
                incident = (await tx.exec(select(Incident))).first()
            if out.incident_number is None or incident is None:
                raise RuntimeError(f"declare failed: {out.reply}")
            assert incident.channel_name is not None
            session.go(incident.channel_name)
            return await _measure(_Setup(app, session, clock, incident), opts)
        finally:
            await app.stop()
