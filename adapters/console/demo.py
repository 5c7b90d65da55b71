"""`warroom demo`: a scripted incident, declare to resolve, on a fast (manual) clock."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from adapters.console.app import build_console
from adapters.console.repl import Repl
from bot.clock import ManualClock
from bot.config import Settings

# (minutes to advance, who, where, what)
SCRIPT: tuple[tuple[int, str, str, str], ...] = (
    (0, "alice", "general", "/incident declare SEV3 Checkout errors for EU customers --comms @bob"),
    (1, "alice", "@incident", "Seeing 502s from the payments gateway since 09:00"),
    (1, "alice", "@incident", "/incident commander @carol"),
    (2, "carol", "@incident", "/incident sev SEV2"),
    (1, "carol", "@incident", "/incident status identified"),
    (1, "carol", "@incident", "/incident note Suspect the 08:55 gateway config push"),
    (1, "carol", "@incident", "/incident task add Roll back the gateway config @dave"),
    (
        3,
        "bob",
        "@incident",
        "/incident update Root cause identified: a bad gateway config. Rolling back now.",
    ),
    (5, "dave", "@incident", "/incident task done 1"),
    (1, "carol", "@incident", "/incident status monitoring"),
    (10, "bob", "@incident", "/incident update Error rate back to normal; monitoring."),
    (
        15,
        "carol",
        "@incident",
        "/incident resolve Gateway config rolled back; checkout healthy for 15 minutes.",
    ),
    (0, "carol", "@incident", "/incident timeline"),
)


async def run_demo(settings: Settings, out: TextIO) -> None:
    clock = ManualClock()
    with tempfile.TemporaryDirectory(prefix="warroom-demo-") as tmp:
        demo_settings = settings.model_copy(
            update={
                "database_url": f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}",
            }
        )
        app, session = await build_console(demo_settings, clock=clock)
        repl = Repl(session, out)
        incident_channel = "general"
        try:
            print("warroom demo: a scripted incident on a fast clock\n", file=out)
            for minutes, who, where, text in SCRIPT:
                clock.advance(timedelta(minutes=minutes))
                session.as_user(who)
                session.go(incident_channel if where == "@incident" else where)
                print(f"[{clock.now():%H:%M}] {who} in #{session.channel.name}> {text}", file=out)
                await repl.step(text)
                if incident_channel == "general":
                    created = [c for c in session.ws.channels.values() if c.name.startswith("inc-")]
                    if created:
                        incident_channel = created[0].name
            print("\n==== transcripts ====\n", file=out)
            for channel in session.ws.channels.values():
                if channel.messages or channel.log:
                    print(session.transcript(channel.name) + "\n", file=out)
        finally:
            await app.stop()
