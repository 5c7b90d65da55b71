"""Two real `warroom run` processes on one database, in Slack Socket Mode against one fake
Slack that spreads events over both connections and redelivers some of them to the other
one, while alerts hit both processes' hooks and both schedulers fire due work.

What must hold (docs/operations.md, "Running several replicas"): incident numbers are
1..n with no gap or collision, each declare makes one incident and one channel, each chat
message is on the timeline once, one alert group makes one incident with one row per
alert, and each reminder and summary is recorded and posted once across both processes.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bot.domain.timeline import EventKind
from storage.database import Database
from tests.alert_payloads import alertmanager_alert, alertmanager_payload
from tests.replica_support import (
    Replica,
    Snapshot,
    fast_playbooks,
    logs,
    post_alert,
    ready,
    snapshot,
    start_replica,
    until,
)
from tests.slack_fake import FakeSlack
from tests.waiting import NotYet

DECLARES = 10
REMINDERS = 3  # cycles to wait for, per incident
UPDATE_WAVES = 2
LETTERS = "abcdefghijklmnopqrstuvwxyz"
TITLE = "Outage case {}"
FINGERPRINTS = [f"f{i}a2c6e1a9b3d4c7" for i in range(4)]
REMINDER = re.compile(r"INC-(\d+) is due a status update")
NUMBERED = re.compile(r"\(reminder (\d+)\)")
ANNOUNCED = re.compile(r"incident declared · INC-(\d+)")
UPDATED = re.compile(r"Update · INC-(\d+)")
SUMMARY = re.compile(r"📋 Summary · INC-(\d+)")


async def test_two_replicas_share_one_database(tmp_path: Path, db_url: str) -> None:
    playbooks = fast_playbooks(tmp_path)
    db = Database.connect(db_url)
    try:
        async with FakeSlack() as fake:
            alice = fake.add_user("alice")
            general = fake.add_channel("general", members=[alice])
            fake.add_channel("incidents")
            replicas = [
                await start_replica(tmp_path, fake, db_url=db_url, playbooks=playbooks, name=n)
                for n in ("one", "two")
            ]
            try:
                await ready(replicas, fake)
                reports = await declares_and_alerts(fake, replicas, alice, general)
                s = await until("every declare is set up", set_up(db), replicas)
                sent = await chat(fake, s, alice, wave=0)
                await until("the chat of wave 0", updated(db, 0, sent), replicas)
                await until("the first summaries", cycles(db, 0, 1), replicas)
                # An update reschedules the incident in the process that handled it; one
                # on each connection leaves both with a job at the same due time.
                for wave in range(1, UPDATE_WAVES + 1):
                    sent += await chat(fake, s, alice, wave=wave, update=True)
                    await until(f"update wave {wave}", updated(db, wave, sent), replicas)
                await until("reminders and summaries", cycles(db, REMINDERS, 2), replicas)
            finally:
                codes = [await r.stop() for r in replicas]
            assert codes == [0, 0], logs(replicas)
            assert "Traceback" not in logs(replicas), logs(replicas)
            after = await snapshot(db)
            check_incidents(fake, after)
            check_chat(after, sent)
            check_alerts(after, reports)
            check_rhythm(fake, after)
    finally:
        await db.dispose()


async def declares_and_alerts(
    fake: FakeSlack, replicas: list[Replica], user: str, channel: str
) -> list[dict[str, Any]]:
    """`/incident declare` N times, spread round-robin over the two connections, every
    third one delivered again on the other connection (Slack retrying it: same trigger_id);
    at the same time one Alertmanager group, growing by a fingerprint, to both hooks."""
    sends = []
    for k in range(DECLARES):
        payload = fake.slash_command(f"declare SEV2 {TITLE.format(LETTERS[k])}", user, channel)
        sends.append(fake.send_envelope("slash_commands", payload, connection=k))
        if k % 3 == 0:
            again = fake.send_envelope("slash_commands", payload, connection=k + 1, retry_attempt=1)
            sends.append(again)
    async with aiohttp.ClientSession() as http:
        deliveries = []
        for size in (1, 1, 2, 2, 4):  # Alertmanager sends the whole group each time
            alerts = [
                alertmanager_alert(fingerprint=f, labels={"instance": f"checkout-{i}"})
                for i, f in enumerate(FINGERPRINTS[:size])
            ]
            body = alertmanager_payload(alerts)
            deliveries += [post_alert(http, r, body) for r in replicas]
        results = await asyncio.gather(*sends, *deliveries)
    return list(results[len(sends) :])


def set_up(db: Database) -> Any:
    async def check() -> Snapshot | NotYet:
        s = await snapshot(db)
        done = [i for i in s.incidents if i.card_message_id and i.setup_started_at is None]
        if len(s.incidents) > DECLARES and len(done) == len(s.incidents):
            return s
        return NotYet(f"{len(done)} of {len(s.incidents)} incidents set up")

    return check


def cycles(db: Database, reminders: int, summaries: int) -> Any:
    """Every incident has had `reminders` update reminders and `summaries` summaries, a
    summary that covers its last chat message, and (once it has had an update) a reminder
    after its last update.

    Not "a summary after its last update": an update alone is no news for a summary (it
    is posted itself), so when the chat of its wave was summarised before the update
    landed, no summary ever follows it."""

    async def check() -> bool | NotYet:
        s = await snapshot(db)
        for i in s.incidents:
            fired = s.entries(EventKind.REMINDER, i.id)
            summed = s.entries(EventKind.SUMMARY, i.id)
            last = max((e.id or 0 for e in s.entries(EventKind.UPDATE, i.id)), default=0)
            said = max((e.id or 0 for e in s.entries(EventKind.CHAT, i.id)), default=0)
            covered = max((int(e.data["cursor"]) for e in summed), default=0)
            seen = NotYet(f"INC-{i.number}: {len(fired)} reminders, {len(summed)} summaries")
            if len(fired) < reminders or len(summed) < summaries:
                return seen
            if last and not (fired[-1].id or 0) > last:
                return NotYet(f"{seen}, no reminder since its last update")
            if covered < said:
                return NotYet(f"{seen}, its last chat message not summarised yet")
        return True

    return check


def updated(db: Database, wave: int, sent: list[str]) -> Any:
    """Every incident has had `wave` updates, and every chat message `sent` is recorded."""

    async def check() -> bool | NotYet:
        s = await snapshot(db)
        behind = [i.number for i in s.incidents if len(s.entries(EventKind.UPDATE, i.id)) < wave]
        if behind:
            return NotYet(f"incidents without update {wave}: {behind}")
        missing = set(sent) - {e.message_id for e in s.entries(EventKind.CHAT)}
        return not missing or NotYet(f"{len(missing)} chat messages not recorded yet")

    return check


async def chat(
    fake: FakeSlack, s: Snapshot, user: str, *, wave: int, update: bool = False
) -> list[str]:
    """Two messages in each incident channel, round-robin over the connections; every
    other one redelivered on the other connection with the same event_id. With `update`,
    also `/incident update` in each, on the connection after the one of the last wave."""
    sends, sent = [], []
    for k, incident in enumerate(s.incidents * 2):
        assert incident.channel_id is not None
        event = fake.say(incident.channel_id, user, f"wave {wave} message {k}")
        body = fake.event_callback(event)
        sent.append(str(event["ts"]))
        sends.append(fake.send_envelope("events_api", body, connection=k + wave))
        if k % 2 == 0:
            again = fake.send_envelope("events_api", body, connection=k + wave + 1)
            sends.append(again)
        if update and k < len(s.incidents):
            command = fake.slash_command(f"update Wave {wave}", user, incident.channel_id)
            sends.append(fake.send_envelope("slash_commands", command, connection=k + wave))
    await asyncio.gather(*sends)
    return sent


def posts(fake: FakeSlack, channel: str | None, pattern: re.Pattern[str]) -> list[str]:
    assert channel is not None
    texts = [str(m.get("text") or "") for m in fake.messages(channel)]
    return [t for t in texts if pattern.search(t)]


def check_incidents(fake: FakeSlack, s: Snapshot) -> None:
    numbers = [i.number for i in s.incidents]
    assert numbers == list(range(1, DECLARES + 2))  # N declares and one alert group
    titles = Counter(i.title for i in s.incidents)
    for letter in LETTERS[:DECLARES]:
        assert titles[TITLE.format(letter)] == 1
    channels = [n for n in fake.channel_names() if n.startswith("inc-")]
    assert sorted(channels) == sorted(str(i.channel_name) for i in s.incidents)
    announcements = fake.messages(str(fake.channel_id("incidents")))
    texts = [str(m.get("text") or "") for m in announcements]
    for i in s.incidents:
        assert i.id is not None
        assert fake.channel_id(str(i.channel_name)) == i.channel_id
        assert str(i.channel_name).startswith(f"inc-{i.number}-")
        for kind in (EventKind.DECLARED, EventKind.CHANNEL_CREATED):
            assert len(s.entries(kind, i.id)) == 1, (i.number, kind)
        cards = [m for m in fake.messages(str(i.channel_id)) if "take_commander" in json.dumps(m)]
        assert [m["ts"] for m in cards] == [i.card_message_id]
        mine = [m for m in announcements if m["ts"] == i.announce_message_id]
        assert len(mine) == 1
        assert len(s.entries(EventKind.UPDATE, i.id)) == UPDATE_WAVES
    shown = Counter(m.group(1) for t in texts if (m := ANNOUNCED.search(t)))
    assert shown == Counter({str(i.number): 1 for i in s.incidents})
    shown = Counter(m.group(1) for t in texts if (m := UPDATED.search(t)))
    assert shown == Counter({str(i.number): UPDATE_WAVES for i in s.incidents})


def check_chat(s: Snapshot, sent: list[str]) -> None:
    recorded = Counter(e.message_id for e in s.entries(EventKind.CHAT))
    assert recorded == Counter(sent), "chat lost or doubled"


def check_alerts(s: Snapshot, reports: list[dict[str, Any]]) -> None:
    assert [a.key for a in s.alerts] == sorted(FINGERPRINTS)
    [incident_id] = {a.incident_id for a in s.alerts}
    assert sum(len(r["declared"]) for r in reports) == 1
    assert all(r["channel_pending"] == [] and r["ignored"] == 0 for r in reports), reports
    # Each alert of each delivery leaves exactly one `alert` entry, on that incident.
    entries = s.entries(EventKind.ALERT)
    assert {e.incident_id for e in entries} == {incident_id}
    assert len(entries) == sum(r["received"] for r in reports)
    by_key = Counter(e.data["key"] for e in entries)
    fired = {a.key: a.fire_count for a in s.alerts}
    assert fired == dict(by_key), "a repeat was lost or counted twice"


def check_rhythm(fake: FakeSlack, s: Snapshot) -> None:
    for i in s.incidents:
        assert i.id is not None
        fired = s.entries(EventKind.REMINDER, i.id)
        # Numbered 1, 2, ... and from 1 again after an update; one entry per due time.
        numbers = [int(e.data["reminder"]) for e in fired]
        pairs = zip([0, *numbers[:-1]], numbers, strict=True)
        assert all(n == 1 or n == m + 1 for m, n in pairs), (i.number, numbers)
        due_times = [e.data["due_at"] for e in fired]
        assert len(set(due_times)) == len(due_times), (i.number, "a reminder fired twice")
        shown = posts(fake, i.channel_id, REMINDER)
        assert {m.group(1) for t in shown if (m := REMINDER.search(t))} == {str(i.number)}
        posted = [int(m.group(1)) if (m := NUMBERED.search(t)) else 1 for t in shown]
        assert sorted(posted) == sorted(numbers), (i.number, posted, numbers)
        [update] = [d for d in s.due if d.incident_id == i.id and d.kind == "update"]
        last = max(e.id or 0 for e in s.entries(EventKind.UPDATE, i.id))
        since = [int(e.data["reminder"]) for e in fired if (e.id or 0) > last]
        assert since == list(range(1, update.fired_count + 1)), (i.number, since)

        summaries = s.entries(EventKind.SUMMARY, i.id)
        cursors = [e.data["cursor"] for e in summaries]
        assert cursors == sorted(set(cursors)), (i.number, cursors)  # none covers the same
        assert len(posts(fake, i.channel_id, SUMMARY)) == len(summaries) >= 2
