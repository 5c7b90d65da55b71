"""`warroom demo`: a scripted incident, declare to resolve, on a fast (manual) clock.

Between steps the clock jumps forward and due work fires exactly as the scheduler
would fire it: checklist timers, automatic summaries, update reminders and escalation.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from adapters.console.app import build_console
from adapters.console.repl import Repl
from bot.clock import ManualClock
from bot.config import Settings
from bot.service.postmortems import latest
from storage.database import Database

HERE = "@incident"  # the incident channel, once declared
# (minutes to advance, who, where, what). Due work fires after each clock jump.
SCRIPT: tuple[tuple[int, str, str, str], ...] = (
    (0, "alice", "general", "/incident declare SEV3 Checkout errors for EU customers --comms @bob"),
    (1, "alice", HERE, "Seeing 502s from the payments gateway since 09:00"),
    (1, "alice", HERE, "/incident commander @carol"),
    (2, "carol", HERE, "/incident sev SEV2"),
    (1, "carol", HERE, "/incident status identified"),
    (1, "carol", HERE, "/incident note Suspect the 08:55 gateway config push"),
    (1, "carol", HERE, "/incident task add Roll back the gateway config @dave"),
    (3, "bob", HERE, "/incident comms customer_notice"),
    (1, "bob", HERE, "/incident comms customer_notice --post"),
    (
        2,
        "bob",
        HERE,
        "/incident update Root cause identified: a bad gateway config. Rolling back now.",
    ),
    (2, "dave", HERE, "Rollback started, ETA 5 minutes"),
    (5, "erin", HERE, ":join #{channel}"),
    (3, "dave", HERE, "/incident task done 1"),
    (1, "carol", HERE, "/incident status monitoring"),
    (24, "carol", HERE, "Error rate is back to baseline"),
    (62, "bob", HERE, "/incident update Error rate back to normal for 30 minutes; monitoring."),
    (15, "carol", HERE, "/incident resolve Gateway config rolled back; checkout healthy."),
)


async def run_demo(settings: Settings, out: TextIO) -> Path | None:
    """Play the script; returns the postmortem file it wrote."""
    clock = ManualClock()
    with tempfile.TemporaryDirectory(prefix="warroom-demo-") as tmp:
        demo_settings = settings.model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"}
        )
        app, session = await build_console(demo_settings, clock=clock)
        repl = Repl(session, out)
        channel = ""
        try:
            print("warroom demo: a scripted incident on a fast clock\n", file=out)
            for minutes, who, where, text in SCRIPT:
                for _ in range(minutes):  # minute by minute, so due work fires on time
                    clock.advance(timedelta(minutes=1))
                    if any(f.posted for f in await app.bot.run_due()):
                        print(f"[{clock.now():%H:%M}] (the clock reaches due work)", file=out)
                        repl.flush()
                session.as_user(who)
                session.go(channel if where == HERE else where)
                line = text.replace("{channel}", channel)
                print(f"[{clock.now():%H:%M}] {who} in #{session.channel.name}> {line}", file=out)
                await repl.step(line)
                if not channel:
                    channel = next(
                        (c.name for c in session.ws.channels.values() if c.name.startswith("inc-")),
                        "",
                    )
            print("\n==== transcripts ====\n", file=out)
            for ch in session.ws.channels.values():
                if ch.messages or ch.log:
                    print(session.transcript(ch.name) + "\n", file=out)
            return await _write_postmortem(app.db, demo_settings.postmortem_dir, out)
        finally:
            await app.stop()


async def _write_postmortem(db: Database, folder: Path, out: TextIO) -> Path | None:
    draft = await latest(db, incident_id=1)
    if draft is None:
        print("no postmortem draft was compiled", file=out)
        return None
    path = await asyncio.to_thread(_write, folder / "INC-1-postmortem.md", draft.content)
    print(f"postmortem draft written to {path}", file=out)
    return path


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path.resolve()
