"""Helpers for tests/test_crash_safety.py: `warroom run` as a real process against the fake
Slack, a fast playbook, and reading what the shared database holds."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from storage import repository as repo
from storage.database import Database
from storage.tables import DueItem, Incident, TimelineEntry
from tests import waiting
from tests.conftest import PLAYBOOKS, REPO
from tests.slack_fake import FakeSlack

CADENCE = "2s"  # SEV2's update reminders: the restarted process fires one soon
STEP = 300.0  # seconds: an upper bound for one awaited step (or a clean stop) under load


def fast_playbooks(tmp_path: Path) -> Path:
    """One playbook (`default`): SEV2 reminders every 2s, no summaries, no timed steps, and
    no escalation (an escalated reminder would also go to the announcement channel)."""
    data = yaml.safe_load((PLAYBOOKS / "default.yaml").read_text())
    data["update_cadence"]["SEV2"] = CADENCE
    data["summary_cadence"] = None
    data["checklist"] = [{"text": step["text"]} for step in data["checklist"]]
    data["reminders"]["escalate_after"] = 1000
    folder = tmp_path / "fast-playbooks"
    folder.mkdir(exist_ok=True)
    (folder / "default.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return folder


@dataclass
class Warroom:
    """One `warroom run` process; its log goes to a file (a full pipe would block it)."""

    proc: asyncio.subprocess.Process
    log_path: Path
    log_file: IO[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, nothing more reaches the database."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        self.log_file.close()

    async def stop(self) -> int:
        """SIGTERM: a clean shutdown. Returns the exit code."""
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            code = await asyncio.wait_for(self.proc.wait(), STEP)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
            self.log_file.close()
        return code


async def spawn(
    tmp_path: Path, fake: FakeSlack, *, cwd: Path, name: str, **settings: str
) -> tuple[asyncio.subprocess.Process, Path, IO[bytes]]:
    """`warroom run` in Slack Socket Mode against `fake`, with these WARROOM_ settings on
    top of the defaults; its log goes to `<tmp_path>/<name>.log`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    environment.update(
        WARROOM_LOG_LEVEL="WARNING",
        WARROOM_HTTP_PORT="0",  # any free port: runs may overlap, 8080 may be taken
        WARROOM_SLACK_BOT_TOKEN="xoxb-test",
        WARROOM_SLACK_APP_TOKEN="xapp-test",
        WARROOM_SLACK_API_URL=fake.api_url,
        PYTHONPATH=str(REPO),
        PYTHONIOENCODING="utf-8",
    )
    environment.update({f"WARROOM_{key.upper()}": value for key, value in settings.items()})
    log_path = tmp_path / f"{name}.log"
    log_file = log_path.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=cwd,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log_file,
        stderr=log_file,
    )
    return proc, log_path, log_file


async def start_warroom(
    tmp_path: Path, fake: FakeSlack, *, db_url: str, playbooks: Path, name: str, lease: str
) -> Warroom:
    started = await spawn(
        tmp_path,
        fake,
        cwd=tmp_path,
        name=name,
        database_url=db_url,
        playbooks_dir=str(playbooks),
        setup_lease=lease,
    )
    return Warroom(*started)


async def until(
    what: str, check: Callable[[], Awaitable[Any]], *, proc: Warroom, within: float = STEP
) -> Any:
    """Wait for `check` to find what it looks for; fail with what it last saw and the
    process log if it never does, or the process exits."""
    return await waiting.until(
        what,
        check,
        within=within,
        every=0.1,
        gone=lambda: proc.proc.returncode is not None,
        context=lambda: f"--- warroom log ---\n{proc.log()}",
    )


@dataclass
class Stored:
    incident: Incident | None
    timeline: list[TimelineEntry]
    due: list[DueItem]

    def kinds(self, kind: str) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.kind == kind]

    def reminder_numbers(self) -> list[int]:
        return [int(e.data["reminder"]) for e in self.kinds("reminder")]


async def stored(db_url: str, number: int = 1) -> Stored:
    """INC-`number` as another process sees it: the row, its timeline, its due items."""
    from sqlmodel import col, select

    db = Database.connect(db_url)
    try:
        async with db.reader() as tx:
            incident = await repo.incident_by_number(tx, number=number)
            if incident is None or incident.id is None:
                return Stored(None, [], [])
            timeline = (
                await tx.exec(
                    select(TimelineEntry)
                    .where(col(TimelineEntry.incident_id) == incident.id)
                    .order_by(col(TimelineEntry.id))
                )
            ).all()
            due = (
                await tx.exec(select(DueItem).where(col(DueItem.incident_id) == incident.id))
            ).all()
        return Stored(incident, list(timeline), list(due))
    finally:
        await db.dispose()
