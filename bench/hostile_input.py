"""Hostile `/incident` commands: how long each holds the event loop, against a plain one.

On the console platform and a SQLite file in a temp dir, one open incident, each kind
of command below is sent `n` times through `Bot.handle` (after a warm-up), alternating
kinds each round. For every command the event loop thread's CPU time is taken
(`time.thread_time()`; database work runs in aiosqlite's worker thread and is not
counted) and so is its wall time.

- hostile: the forms that once froze the loop, crashed or came back oversized: a
  16,000-digit and a 3,990-digit `snooze` (a quadratic regex took 10 s on the first),
  `snooze 1000000000d`, a 3,990-digit task number, a 4,000-character unknown
  subcommand and declare flag, a title of 3,990 zero-width characters, a note of forged
  mention tokens, 2,000 `<@` user references, a page number of 3,990 digits.
- baseline: `note <short text>`, an ordinary command that writes one row.

`worst_hostile_ms` is the highest median loop CPU of any hostile kind; `ratio` is that
over the baseline's median. Targets: no hostile command holds the loop for 100 ms, and
the worst costs at most a few plain commands. Options (`key=value` or BENCH_<KEY>):
n (default 40), warmup (default 5).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from adapters.console.app import build_console
from adapters.console.session import ConsoleSession
from bench.measure import meets, temp_settings
from bench.registry import Options
from bot.clock import SystemClock

TARGET = {"worst_hostile_ms": "<= 100", "ratio": "<= 5"}
BASELINE = "note checked the error-rate dashboard"

HOSTILE: dict[str, str] = {
    "snooze_16000_digits": "snooze " + "9" * 16_000,
    "snooze_3990_digits": "snooze " + "9" * 3_990,
    "snooze_1000000000d": "snooze 1000000000d",
    "task_done_3990_digits": "task done " + "9" * 3_990,
    "unknown_subcommand_4000": "frob" + "x" * 3_990,
    "declare_flag_4000": "declare Disk full --" + "x" * 3_970,
    "declare_invisible_title": "declare SEV2 " + "\u200b" * 3_980,
    "note_forged_mentions": "note " + "\x02@U123\x03 " * 390,
    "commander_2000_refs": "commander " + "<@" * 1_990,
    "list_page_3990_digits": "list " + "9" * 3_990,
}


async def _send(session: ConsoleSession, text: str) -> tuple[float, float, str]:
    """(loop CPU s, wall s, reply) of one command."""
    wall, cpu = time.perf_counter(), time.thread_time()
    out = await session.send(f"/incident {text}")
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    return cpu, wall, out.reply.plain() if out.reply else ""


async def _measure(session: ConsoleSession, opts: Options) -> dict[str, Any]:
    n = opts.int("n", 40, minimum=1)
    warmup = opts.int("warmup", 5)
    kinds = {"baseline": BASELINE, **HOSTILE}
    for text in kinds.values():
        for _ in range(warmup):
            await _send(session, text)
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    wall: dict[str, list[float]] = {k: [] for k in kinds}
    order = list(kinds)
    for r in range(n):
        for kind in order[r % len(order) :] + order[: r % len(order)]:
            c, w, reply = await _send(session, kinds[kind])
            if reply.startswith("😓"):
                raise RuntimeError(f"{kind} crashed: {reply}")
            cpu[kind].append(c)
            wall[kind].append(w)

    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 3)

    hostile = {k: ms(cpu[k]) for k in HOSTILE}
    worst = max(hostile, key=hostile.__getitem__)
    baseline = ms(cpu["baseline"])
    figures: dict[str, Any] = {
        "n": n,
        "worst_hostile": worst,
        "worst_hostile_ms": hostile[worst],
        "max_hostile_ms": round(max(max(cpu[k]) for k in HOSTILE) * 1000, 3),
        "baseline_note_ms": baseline,
        "ratio": round(hostile[worst] / baseline, 3) if baseline else float("inf"),
        "hostile_ms": hostile,
        "hostile_wall_ms": {k: ms(wall[k]) for k in HOSTILE},
        "baseline_note_wall_ms": ms(wall["baseline"]),
        "target": TARGET,
    }
    figures["ok"] = meets(TARGET, figures)
    return figures


async def run(opts: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        settings = temp_settings(tmp)
        app, session = await build_console(settings, clock=SystemClock())
        try:
            session.as_user("alice")
            out = await session.send("/incident declare SEV2 Benchmark: hostile input")
            if out.incident_number is None:
                raise RuntimeError(f"declare failed: {out.reply}")
            session.go("inc-1-benchmark-hostile-input")
            return await _measure(session, opts)
        finally:
            await app.stop()
