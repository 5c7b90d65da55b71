"""A second warroom process for tests/test_reminder_processes.py.

`python -m tests.due_worker DB_URL PLAYBOOKS NOW` builds the console app on a shared SQLite
file with a manual clock at NOW, prints `ready`, waits for a line on standard input, fires
what is due and prints one JSON line: the items this process claimed and what it posted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from adapters.console.app import build_console
from adapters.console.workspace import Workspace
from bot.clock import ManualClock
from bot.config import Settings


async def fire(db_url: str, playbooks: str, now: str, scratch: str) -> dict[str, object]:
    settings = Settings(
        _env_file=None,
        database_url=db_url,
        playbooks_dir=Path(playbooks),
        postmortem_dir=Path(scratch),
    )
    ws = Workspace()
    app, _session = await build_console(
        settings, clock=ManualClock(datetime.fromisoformat(now)), workspace=ws
    )
    try:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        fired = await app.bot.run_due()
    finally:
        await app.stop()
    posted = [m.rich.header or m.text for ch in ws.channels.values() for m in ch.messages if m.rich]
    return {"fired": [[f.item_id, f.kind] for f in fired], "posted": posted}


def main(argv: list[str]) -> int:
    db_url, playbooks, now = argv
    with tempfile.TemporaryDirectory() as scratch:
        report = asyncio.run(fire(db_url, playbooks, now, scratch))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
