"""Helpers for tests/test_replicas.py: several `warroom run` processes in Slack Socket Mode
against one fake Slack, on one database, each with its own HTTP port for alert hooks."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlmodel import col, select

from storage.database import Database
from storage.tables import AlertRecord, DueItem, Incident, TimelineEntry
from tests import waiting
from tests.conftest import PLAYBOOKS
from tests.crash_support import Warroom, spawn
from tests.slack_fake import FakeSlack

HOOK_TOKEN = "replica-hook-token"
UPDATE_EVERY = "2s"  # the duration parser takes whole seconds; 1s is its minimum
SUMMARY_EVERY = "2s"


def fast_playbooks(tmp_path: Path) -> Path:
    """Only the `default` playbook (so every alert takes its catch-all rule): update
    reminders and summaries every 2s at every severity, no timed checklist steps, and no
    escalation (an escalated reminder would also go to the announcement channel)."""
    data = yaml.safe_load((PLAYBOOKS / "default.yaml").read_text())
    data["update_cadence"] = {level: UPDATE_EVERY for level in data["update_cadence"]}
    data["summary_cadence"] = SUMMARY_EVERY
    data["checklist"] = [{"text": step["text"]} for step in data["checklist"]]
    data["reminders"]["escalate_after"] = 1000
    folder = tmp_path / "replica-playbooks"
    folder.mkdir(exist_ok=True)
    (folder / "default.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return folder


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Replica(Warroom):
    port: int = 0

    @property
    def hooks(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


async def start_replica(
    tmp_path: Path, fake: FakeSlack, *, db_url: str, playbooks: Path, name: str
) -> Replica:
    port = free_port()
    folder = tmp_path / name
    folder.mkdir()
    started = await spawn(
        tmp_path,
        fake,
        cwd=folder,
        name=name,
        database_url=db_url,
        playbooks_dir=str(playbooks),
        http_port=str(port),
        hook_token=HOOK_TOKEN,
    )
    return Replica(*started, port=port)


def logs(replicas: list[Replica]) -> str:
    return "\n".join(f"--- {r.log_path.name} ---\n{r.log()}" for r in replicas)


WITHIN = 300.0  # seconds for one step: an upper bound for a hang on a loaded machine


async def until(
    what: str,
    check: Callable[[], Awaitable[Any]],
    replicas: list[Replica],
    *,
    within: float = WITHIN,
) -> Any:
    """Wait for `check` to find what it looks for; fail with what it last saw and the
    replicas' logs if it never does, or a replica exits."""
    return await waiting.until(
        what,
        check,
        within=within,
        every=0.1,
        gone=lambda: any(r.proc.returncode is not None for r in replicas),
        context=lambda: logs(replicas),
    )


async def ready(replicas: list[Replica], fake: FakeSlack) -> None:
    """Every process is connected to Slack and serves HTTP."""
    async with aiohttp.ClientSession() as http:

        async def up() -> bool:
            if fake.connections < len(replicas):
                return False
            for r in replicas:
                try:
                    async with http.get(f"http://127.0.0.1:{r.port}/healthz") as response:
                        if response.status != 200:
                            return False
                except aiohttp.ClientError:
                    return False
            return True

        await until("both replicas connected and serving HTTP", up, replicas)


async def post_alert(http: aiohttp.ClientSession, replica: Replica, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {HOOK_TOKEN}"}
    async with http.post(f"{replica.hooks}/alertmanager", json=body, headers=headers) as response:
        answer = await response.json()
        assert response.status == 200, (response.status, answer)
        return answer


@dataclass
class Snapshot:
    """What the shared database holds, as a third process sees it."""

    incidents: list[Incident]
    timeline: list[TimelineEntry]
    alerts: list[AlertRecord]
    due: list[DueItem]

    def entries(self, kind: str, incident_id: int | None = None) -> list[TimelineEntry]:
        return [
            e
            for e in self.timeline
            if e.kind == kind and (incident_id is None or e.incident_id == incident_id)
        ]


async def snapshot(db: Database) -> Snapshot:
    async with db.reader() as tx:
        incidents = (await tx.exec(select(Incident).order_by(col(Incident.number)))).all()
        timeline = (await tx.exec(select(TimelineEntry).order_by(col(TimelineEntry.id)))).all()
        alerts = (await tx.exec(select(AlertRecord).order_by(col(AlertRecord.key)))).all()
        due = (await tx.exec(select(DueItem).order_by(col(DueItem.id)))).all()
    return Snapshot(list(incidents), list(timeline), list(alerts), list(due))
