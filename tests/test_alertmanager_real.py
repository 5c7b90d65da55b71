"""A real Prometheus Alertmanager delivering to warroom's hook over loopback.

`amtool` fires an alert → Alertmanager notifies → an incident and its channel exist →
Alertmanager notifies again (repeat_interval) → still one incident, the repeat counted →
`amtool` ends the alert → the resolved notification is recorded and posted.

The Debian package `prometheus-alertmanager` provides both binaries (`.ci/run` installs
it). Without them these tests skip, except on CI (`CI` set), where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from adapters.console.app import build_console
from bot.clock import SystemClock
from storage import repository as repo
from storage.tables import AlertRecord, Incident, TimelineEntry
from tests import waiting
from tests.conftest import Console, make_settings

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")
TOKEN = "am-test-token"
LABELS = ["alertname=CheckoutErrors", "severity=critical", "service=checkout"]


def _missing() -> str | None:
    if BINARY and AMTOOL:
        return None
    reason = (
        "prometheus-alertmanager/amtool are not installed (apt-get install prometheus-alertmanager)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run installs them, so on CI this is an error")
    return reason


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


CONFIG = """\
route:
  receiver: warroom
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 3s
receivers:
  - name: warroom
    webhook_configs:
      - url: http://127.0.0.1:{port}/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"""


async def until(
    check: Callable[[], Awaitable[bool]], *, what: str, within: float = waiting.WITHIN
) -> None:
    await waiting.until(what, check, within=within, every=0.2)


class Alertmanager:
    def __init__(self, folder: Path, hook_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "alertmanager.yml"
        config.write_text(CONFIG.format(port=hook_port, token=TOKEN), encoding="utf-8")
        assert BINARY is not None
        self.log = (folder / "alertmanager.log").open("wb")
        self.process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config}",
                f"--storage.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # one instance: no gossip port
                "--log.level=info",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self) -> None:
        async with aiohttp.ClientSession() as http:

            async def up() -> bool:
                if self.process.poll() is not None:
                    raise AssertionError(f"alertmanager exited with {self.process.returncode}")
                try:
                    async with http.get(f"{self.url}/-/ready") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await until(up, what="alertmanager to be ready")

    async def amtool(self, *args: str) -> None:
        assert AMTOOL is not None
        proc = await asyncio.create_subprocess_exec(
            AMTOOL,
            f"--alertmanager.url={self.url}",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Console, int]]:
    from adapters.web.server import serving

    settings = make_settings(tmp_path, http_port=0, hook_token=TOKEN)
    app, session = await build_console(settings, clock=SystemClock())
    try:
        async with serving(app, settings) as port:
            yield Console(app=app, session=session, clock=None, settings=settings), port  # type: ignore[arg-type]
    finally:
        await app.stop()


async def test_amtool_alert_declares_once_repeats_and_resolves(
    served: tuple[Console, int], tmp_path: Path
) -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    console, hook_port = served
    am = Alertmanager(tmp_path, hook_port)
    try:
        await am.ready()

        async def incidents() -> list[Incident]:
            async with console.app.db.reader() as tx:
                return list(await repo.all_incidents(tx))

        async def alert_events() -> list[str]:
            async with console.app.db.reader() as tx:
                rows = await tx.exec(select(TimelineEntry).where(TimelineEntry.kind == "alert"))
                return [e.data["event"] for e in rows.all()]

        async def declared() -> bool:
            found = await incidents()
            return bool(found) and bool(found[0].channel_name)

        await am.amtool("alert", "add", *LABELS, "--annotation=summary=Checkout is failing")
        await until(declared, what="the alert to declare an incident")
        [incident] = await incidents()
        assert (incident.title, incident.severity) == ("Checkout is failing", "SEV1")
        assert incident.channel_name
        channel = console.session.ws.channel_by_name(incident.channel_name)
        assert channel is not None and channel.messages  # the card

        # The same alert again (same labels, so the same fingerprint), and Alertmanager's
        # own re-notification on repeat_interval: still one incident, the repeat counted.
        await am.amtool("alert", "add", *LABELS, "--annotation=summary=Checkout is failing")

        async def repeated() -> bool:
            return "repeated" in await alert_events()

        await until(repeated, what="a repeated notification")
        assert len(await incidents()) == 1
        async with console.app.db.reader() as tx:
            [row] = (await tx.exec(select(AlertRecord))).all()
        assert row.fire_count >= 2
        assert len(row.key) == 16 and int(row.key, 16) >= 0  # Alertmanager's fingerprint

        # Ending the alert makes Alertmanager send a resolved notification.
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        await am.amtool(
            "alert", "add", *LABELS, "--annotation=summary=Checkout is failing", f"--end={now}"
        )

        async def resolved() -> bool:
            return "resolved" in await alert_events()

        await until(resolved, what="the resolved notification")
        [incident] = await incidents()
        assert incident.status == "monitoring"  # the default rule's on_resolve
        assert any("resolved" in m.text for m in channel.messages)
    finally:
        am.stop()
