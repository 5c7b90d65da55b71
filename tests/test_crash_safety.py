"""A declare killed halfway (SIGKILL) is finished by the next process: real `warroom run`
processes in Slack Socket Mode against the fake Slack, on one database.

The fake leaves one Web API call unanswered, the test waits until warroom has made it,
kills the process, and starts another `warroom run` on the same database. That one
must finish the declare (bot/service/recovery.py): one channel (created, or adopted if
the platform had made it), one card, one announcement, and the update reminders firing.
The lease (WARROOM_SETUP_LEASE) and races between recoverers are in
tests/test_crash_recovery.py, on the console with a manual clock.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.crash_support import Stored, fast_playbooks, start_warroom, stored, until
from tests.slack_fake import FakeSlack, Hang

pytestmark = pytest.mark.usefixtures("db_url")  # each test on SQLite and PostgreSQL

LEASE = timedelta(seconds=1)
NAME = "inc-1-checkout-errors"
REMINDER = "is due a status update"


def is_card(message: dict[str, object]) -> bool:
    return "incident.take_commander" in json.dumps(message)


def is_reminder(message: dict[str, object]) -> bool:
    return REMINDER in json.dumps(message, ensure_ascii=False)


async def crash_in_declare(
    tmp_path: Path, fake: FakeSlack, db_url: str, playbooks: Path, hang: Hang, *, card: bool
) -> Stored:
    """`/incident declare SEV2 Checkout errors`, then SIGKILL once the hung call came."""
    general = fake.channel_id("general")
    assert general is not None
    user = fake.members(general)[-1]  # alice
    first = await start_warroom(
        tmp_path, fake, db_url=db_url, playbooks=playbooks, name="first", lease="1s"
    )
    try:
        await fake.wait_connected(timeout_s=30)
        command = fake.slash_command("declare SEV2 Checkout errors", user, general)
        await fake.send_envelope("slash_commands", command)

        async def hung() -> bool:
            return hang.seen.is_set()

        await until(f"warroom calls {hang.method}", hung, proc=first)
        if card:  # the announcement went out beside the card: let it be recorded first

            async def announced() -> bool:
                return bool((await stored(db_url)).kinds("announced"))

            await until("the announcement is recorded", announced, proc=first)
    finally:
        await first.kill()
    assert first.proc.returncode == -9
    return await stored(db_url)


async def restart_and_wait(
    tmp_path: Path, fake: FakeSlack, db_url: str, playbooks: Path, killed: Stored
) -> tuple[Stored, datetime]:
    """Start a second `warroom run` once the first one's lease has run out; wait until
    the declare is finished and that process has fired an update reminder; stop it."""
    assert killed.incident is not None
    started = killed.incident.setup_started_at or killed.incident.declared_at
    left = started + LEASE - datetime.now(UTC)  # the lease, not the test, sets the pace
    await asyncio.sleep(max(left.total_seconds(), 0) + 0.05)
    restarted = datetime.now(UTC)
    second = await start_warroom(
        tmp_path, fake, db_url=db_url, playbooks=playbooks, name="second", lease="1s"
    )
    try:

        async def finished() -> Stored | None:
            s = await stored(db_url)
            i = s.incident
            done = i is not None and i.channel_id and i.card_message_id and i.announce_message_id
            fired = [e for e in s.kinds("reminder") if e.at >= restarted]
            return s if done and i and i.setup_started_at is None and fired else None

        await until("the declare is finished and a reminder fired", finished, proc=second)
    finally:
        code = await second.stop()
    assert code == 0, second.log()
    assert "Traceback" not in second.log(), second.log()
    return await stored(db_url), restarted


def check_finished(fake: FakeSlack, after: Stored, restarted: datetime) -> str:
    """What every case ends with. Returns the incident channel's id."""
    incident = after.incident
    assert incident is not None
    # One channel, recorded: no orphan, no second channel with a suffix.
    assert [n for n in fake.channel_names() if n.startswith("inc-")] == [NAME]
    channel = fake.channel_id(NAME)
    assert channel is not None
    assert (incident.channel_id, incident.channel_name) == (channel, NAME)
    assert len(after.kinds("channel_created")) == 1
    # One card, pinned, and it is the one recorded.
    cards = [m for m in fake.messages(channel) if is_card(m)]
    assert [m["ts"] for m in cards] == [incident.card_message_id]
    assert fake.pins(channel) == [incident.card_message_id]
    assert len(after.kinds("card_posted")) == 1
    # One announcement.
    incidents = fake.channel_id("incidents")
    assert incidents is not None
    announcements = fake.messages(incidents)
    assert [m["ts"] for m in announcements] == [incident.announce_message_id]
    assert len(after.kinds("announced")) == 1
    assert fake.topic(channel).startswith("SEV2 · investigating")
    # The restart says what it did.
    [resumed] = after.kinds("declare_resumed")
    assert resumed.at >= restarted
    # Reminders resumed: numbered 1, 2, … with none fired twice, the restarted process
    # fired at least one, and each recorded reminder was posted once.
    numbers = after.reminder_numbers()
    assert numbers and numbers[0] == 1 and Counter(numbers).most_common(1)[0][1] == 1
    assert numbers == list(range(1, len(numbers) + 1))
    by_second = [e for e in after.kinds("reminder") if e.at >= restarted]
    posted = [m for m in fake.messages(channel) if is_reminder(m)]
    assert by_second and len(by_second) <= len(posted) <= len(numbers)
    [update] = [d for d in after.due if d.kind == "update"]
    assert update.due_at is not None and update.fired_count == len(numbers)
    return channel


async def test_killed_before_the_platform_made_the_channel(tmp_path, db_url):
    playbooks = fast_playbooks(tmp_path)
    async with FakeSlack() as fake:
        alice = fake.add_user("alice")
        fake.add_channel("general", members=[alice])
        fake.add_channel("incidents")
        hang = fake.hang("conversations.create")  # no answer, nothing made
        killed = await crash_in_declare(tmp_path, fake, db_url, playbooks, hang, card=False)

        assert killed.incident is not None
        assert (killed.incident.channel_id, killed.incident.channel_name) == (None, NAME)
        assert fake.channel_id(NAME) is None

        after, restarted = await restart_and_wait(tmp_path, fake, db_url, playbooks, killed)
        check_finished(fake, after, restarted)
        assert len(fake.calls_to("conversations.create")) == 2  # the hung one, then ours
        [created] = after.kinds("channel_created")
        assert "adopted" not in created.data


async def test_killed_after_the_platform_made_the_channel_adopts_it(tmp_path, db_url):
    playbooks = fast_playbooks(tmp_path)
    async with FakeSlack() as fake:
        alice = fake.add_user("alice")
        fake.add_channel("general", members=[alice])
        fake.add_channel("incidents")
        hang = fake.hang("conversations.create", after=True)  # made, but never answered
        killed = await crash_in_declare(tmp_path, fake, db_url, playbooks, hang, card=False)

        assert killed.incident is not None
        assert (killed.incident.channel_id, killed.incident.channel_name) == (None, NAME)
        assert fake.channel_id(NAME) is not None  # the platform has it; nobody recorded it

        after, restarted = await restart_and_wait(tmp_path, fake, db_url, playbooks, killed)
        channel = check_finished(fake, after, restarted)
        assert channel == fake.channel_id(NAME)
        assert len(fake.calls_to("conversations.create")) == 1  # adopted, not made again
        assert fake.channel_id(f"{NAME}-2") is None
        [created] = after.kinds("channel_created")
        assert created.data["adopted"] is True


async def test_killed_while_posting_the_card_posts_it_once(tmp_path, db_url):
    playbooks = fast_playbooks(tmp_path)
    async with FakeSlack() as fake:
        alice = fake.add_user("alice")
        general = fake.add_channel("general", members=[alice])
        incidents = fake.add_channel("incidents")
        hang = fake.hang(  # the first post in any other channel: the incident card
            "chat.postMessage", match=lambda args: args.get("channel") not in (general, incidents)
        )
        killed = await crash_in_declare(tmp_path, fake, db_url, playbooks, hang, card=True)

        assert killed.incident is not None
        assert killed.incident.channel_id == fake.channel_id(NAME)
        assert killed.incident.card_message_id is None
        assert killed.incident.setup_started_at is not None  # the word was never all spread
        assert len(killed.kinds("announced")) == 1

        after, restarted = await restart_and_wait(tmp_path, fake, db_url, playbooks, killed)
        check_finished(fake, after, restarted)
        assert len(fake.calls_to("conversations.create")) == 1
