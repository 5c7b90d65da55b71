"""An acknowledged alert is never lost, even when the incident's channel can't be made.

A delivery answered 2xx has its alerts recorded for good. When the chat platform refuses
the channel of an incident that alerts declared, the incident is kept (open, without a
channel), its alerts with it, and warroom tries the channel again on the next recovery
pass. Alerts that joined it meanwhile, or in the delivery that declared it, are posted
once the channel exists. Run on SQLite and PostgreSQL; through the real HTTP hook where
the test says what the sender received.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from adapters.web.server import start_http
from bot.alerts.model import Alert
from bot.app import App
from bot.clock import ManualClock
from bot.events import AlertsReceived
from bot.port import ChannelRef, UserRef
from bot.service.declare import MAX_NAME_ATTEMPTS
from storage import repository as repo
from storage.tables import AlertRecord, Incident
from tests.alert_payloads import alertmanager_alert, alertmanager_payload
from tests.chat_drivers import SlackDriver, slack_driver
from tests.conftest import Console

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

TOKEN = "hook-token"
GROUP = '{}:{alertname="DiskFull"}'


@asynccontextmanager
async def hook_client(app: App) -> AsyncIterator[Any]:
    runner, port = await start_http(app, app.settings)
    try:
        async with aiohttp.ClientSession() as http:

            async def post(payload: Any) -> tuple[int, Any]:
                async with http.post(
                    f"http://127.0.0.1:{port}/hooks/alertmanager",
                    data=json.dumps(payload),
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ) as r:
                    return r.status, await r.json()

            yield post
    finally:
        await runner.cleanup()


def delivery(*fingerprints: str, group: str = GROUP) -> Any:
    return alertmanager_payload(
        [
            alertmanager_alert(
                "DiskFull",
                labels={"pod": fp},
                annotations={"summary": f"Disk full on {fp}"},
                fingerprint=fp,
            )
            for fp in fingerprints
        ],
        group_key=group,
    )


async def stored(app: App) -> tuple[list[Incident], dict[str, int]]:
    async with app.db.reader() as tx:
        incidents = list(await repo.all_incidents(tx))
        rows = (await tx.exec(select(AlertRecord))).all()
    return incidents, {r.key: r.incident_id for r in rows}


def texts(slack: SlackDriver, channel_name: str) -> list[str]:
    return slack.channel_messages(channel_name)


async def test_a_refused_channel_keeps_the_incident_and_every_acknowledged_alert(
    tmp_path: Path,
) -> None:
    """Two deliveries race: the first declares and waits on Slack's conversations.create,
    the second joins its incident meanwhile (200, attached 1); then Slack refuses the
    channel. Nothing either sender was told is undone, and the channel comes later."""
    async with slack_driver(tmp_path, hook_token=TOKEN, http_port=0) as slack:
        fake, app = slack.fake, slack.app
        hang = fake.hang("conversations.create")
        fake.fail("conversations.create", "restricted_action")  # answers the hung call
        async with hook_client(app) as post:
            first = asyncio.create_task(post(delivery("pod-a")))
            await asyncio.wait_for(hang.seen.wait(), 60)  # INC-1 is committed, channel pending
            status, joined = await post(delivery("pod-b"))
            assert (status, joined["attached"], joined["incidents"]) == (200, 1, ["INC-1"])
            fake.release()
            status, declared = await asyncio.wait_for(first, 60)
        assert status == 200, declared
        assert declared["declared"] == ["INC-1"] and declared["channel_pending"] == ["INC-1"]

        [incident], alerts = await stored(app)
        assert incident.status == "investigating" and incident.channel_id is None
        assert alerts == {"pod-a": incident.id, "pod-b": incident.id}

        # The next recovery pass after the setup lease makes the channel, posts the card
        # and then the alert that joined while there was none; the declaring one is on
        # the card already.
        clock = app.bot.deps.clock
        assert isinstance(clock, ManualClock)
        clock.advance(app.settings.setup_lease_delta + timedelta(seconds=1))
        done = await app.recover()
        assert done.resumed == [incident.id], done
        [incident], alerts = await stored(app)
        assert incident.channel_name and incident.channel_id
        posted = texts(slack, incident.channel_name)
        assert sum("Disk full on pod-b" in t and "joined" in t for t in posted) == 1, posted
        assert not any("Disk full on pod-a" in t and "joined" in t for t in posted), posted
        assert alerts == {"pod-a": incident.id, "pod-b": incident.id}
        # Another pass posts nothing twice.
        clock.advance(app.settings.setup_lease_delta + timedelta(seconds=1))
        await app.recover()
        assert texts(slack, incident.channel_name) == posted
        fake.assert_clean()


async def test_alerts_joining_in_the_declaring_delivery_are_posted(tmp_path: Path) -> None:
    async with slack_driver(tmp_path, hook_token=TOKEN, http_port=0) as slack:
        async with hook_client(slack.app) as post:
            status, report = await post(delivery("pod-a", "pod-b", "pod-c"))
        assert status == 200, report
        assert (report["declared"], report["attached"]) == (["INC-1"], 2)
        [incident], _ = await stored(slack.app)
        assert incident.channel_name
        posted = texts(slack, incident.channel_name)
        for pod in ("pod-b", "pod-c"):
            assert sum(f"Disk full on {pod}" in t and "joined" in t for t in posted) == 1, posted


def take_every_name(console: Console, base: str) -> None:
    console.session.ws.add_channel(base)
    for n in range(2, MAX_NAME_ATTEMPTS + 1):
        console.session.ws.add_channel(f"{base}-{n}")


def alert(key: str) -> Alert:
    return Alert(
        source="alertmanager",
        key=key,
        status="firing",
        title="Disk full",
        group=GROUP,
        labels={"alertname": "DiskFull", "pod": key},
    )


async def test_many_deliveries_racing_a_failing_channel_lose_nothing(console: Console) -> None:
    """Twelve deliveries of new alerts of one group at once, while no channel name can be
    had: each is answered with a report, every alert is stored on one incident, and once
    the names are free the channel comes with each joined alert posted exactly once."""
    take_every_name(console, "inc-1-disk-full")

    async def send(key: str) -> Any:
        outcome = await console.app.bot.handle(
            AlertsReceived(
                key=uuid.uuid4().hex,
                user=UserRef("alertmanager", "Alertmanager"),
                channel=ChannelRef(""),
                source="alertmanager",
                alerts=(alert(key),),
            )
        )
        assert outcome.report is not None, outcome.reply and outcome.reply.plain()
        return outcome.report

    keys = [f"pod-{n}" for n in range(12)]
    reports = await asyncio.gather(*(send(k) for k in keys))
    assert sum(len(r.declared) for r in reports) == 1
    assert sum(r.attached for r in reports) == 11
    assert [n for r in reports for n in r.channel_pending] == [1]
    [incident], alerts = await stored(console.app)
    assert incident.channel_id is None and sorted(alerts) == sorted(keys)
    assert set(alerts.values()) == {incident.id}

    # Still no name: the next pass keeps everything and tries again later.
    console.clock.advance(console.settings.setup_lease_delta + timedelta(seconds=1))
    done = await console.app.recover()
    assert done.resumed == [] and done.rolled_back == []
    [incident], alerts = await stored(console.app)
    assert sorted(alerts) == sorted(keys)

    ws = console.session.ws
    ws.channels = {cid: c for cid, c in ws.channels.items() if not c.name.startswith("inc-1-")}
    console.clock.advance(console.settings.setup_lease_delta + timedelta(seconds=1))
    done = await console.app.recover()
    assert done.resumed == [incident.id]
    [incident], _ = await stored(console.app)
    channel = ws.channel_by_name(incident.channel_name or "")
    assert channel is not None
    joined = [m.text for m in channel.messages if "joined" in m.text]
    assert len(joined) == 11, [m.text for m in channel.messages]
