"""The same scenarios on every chat platform: the console, Slack (real Bolt over FakeSlack)
and Discord (real discord.py over FakeDiscord).

Each test runs once per platform through the `Driver` interface (`tests/chat_drivers.py`)
and asserts the same things: what the database holds, what channels show, who was told
what privately. A difference between the platforms fails one of the two runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.chat_drivers import (
    Driver,
    SlackDriver,
    driver,
    incident,
    roles,
    tasks,
    timeline,
)

CH = "inc-1-checkout-errors"

# Every timeline entry the lifecycle scenario leaves, by kind: identical on both platforms.
LIFECYCLE_KINDS = {
    **{"declared": 1, "role": 4, "channel_created": 1, "card_posted": 1, "invited": 1},
    **{"announced": 1, "severity": 1, "update": 1, "note": 1, "task_added": 1},
    **{"task_done": 1, "chat": 1, "resolved": 1},
}


@pytest.fixture(params=["console", "slack", "discord"])
async def chat(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Driver]:
    async with driver(request.param, tmp_path) as d:
        yield d


# Discord is left out on purpose: it has no channel-join event (channel access is a
# permission overwrite, and nothing is dispatched when one is added), so there is no
# late joiner to read in.
@pytest.fixture(params=["console", "slack"])
async def chat_with_joins(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Driver]:
    async with driver(request.param, tmp_path) as d:
        yield d


async def declare(chat: Driver, args: str = "SEV2 Checkout errors") -> None:
    await chat.send(f"/incident declare {args}", user="alice", channel="general")


async def kinds(chat: Driver) -> Counter[str]:
    return Counter(e.kind for e in await timeline(chat.app))


async def test_the_lifecycle_has_the_same_outcome_everywhere(chat: Driver):
    await declare(chat)
    inc = await incident(chat.app)
    assert (inc.number, inc.title, inc.severity, inc.status) == (
        1,
        "Checkout errors",
        "SEV2",
        "investigating",
    )
    assert (inc.channel_name, inc.platform, inc.declared_by_name) == (CH, chat.platform, "alice")
    [card] = chat.pinned(CH)
    assert "INC-1 · Checkout errors" in card
    assert "SEV2" in chat.topic(CH)
    [announcement] = chat.channel_messages("incidents")
    assert "INC-1" in announcement and "SEV2" in announcement
    assert any("Declared" in r and "INC-1" in r for r in chat.private_replies("alice"))
    assert "alice" in chat.members(CH)

    await chat.send("/incident commander @carol", user="alice", channel=CH)
    await chat.send("/incident comms @dave", user="alice", channel=CH)
    assert await roles(chat.app) == {"commander": "carol", "comms": "dave"}
    assert {"alice", "carol", "dave"} <= chat.members(CH)

    await chat.send("/incident sev SEV1", user="carol", channel=CH)
    assert (await incident(chat.app)).severity == "SEV1"
    assert "SEV1" in chat.topic(CH)
    [announcement] = chat.channel_messages("incidents")  # updated in place
    assert "SEV1" in announcement

    await chat.send("/incident update Rolled back the gateway config", user="carol", channel=CH)
    assert (await incident(chat.app)).latest_update == "Rolled back the gateway config"
    announcement, broadcast = chat.channel_messages("incidents")
    assert "Rolled back the gateway config" in broadcast
    assert any("Rolled back the gateway config" in m for m in chat.channel_messages(CH))

    await chat.send("/incident note Suspect the 14:02 push & <cache>", user="bob", channel=CH)
    await chat.send("/incident task add Check the CDN logs @dave", user="carol", channel=CH)
    await chat.send("/incident task done 1", user="dave", channel=CH)
    await chat.send("looking at the dashboards", user="alice", channel=CH)
    [task] = await tasks(chat.app)
    assert (task.number, task.text, task.owner_name, task.done) == (
        1,
        "Check the CDN logs",
        "dave",
        True,
    )

    await chat.send("/incident resolve Rollback fixed it", user="carol", channel=CH)
    assert (await incident(chat.app)).status == "resolved"
    [(filename, content)] = chat.files(CH)
    assert filename == "INC-1-postmortem.md"
    assert b"Checkout errors" in content and b"Rolled back the gateway config" in content
    assert "resolved" in chat.channel_messages("incidents")[0].lower()

    assert await kinds(chat) == LIFECYCLE_KINDS
    entries = {e.kind: e for e in await timeline(chat.app)}
    assert entries["note"].text == "Suspect the 14:02 push & <cache>"
    assert entries["note"].actor_name == "bob"
    assert (entries["severity"].actor_name, entries["resolved"].actor_name) == ("carol", "carol")
    assert entries["chat"].text == "looking at the dashboards"


@pytest.mark.parametrize(
    "text",
    [
        "/incident sev SEV9",
        "/incident commander @nobody",
        "/incident frobnicate",
        "/incident task done 7",
        "/incident note",
    ],
)
async def test_bad_input_is_refused_privately_and_changes_nothing(chat: Driver, text: str):
    await declare(chat)
    before = (
        await incident(chat.app),
        await kinds(chat),
        await roles(chat.app),
        chat.channel_messages(CH),
        chat.channel_messages("incidents"),
    )
    replies = len(chat.private_replies("alice"))
    await chat.send(text, user="alice", channel=CH)
    [refusal] = chat.private_replies("alice")[replies:]
    assert refusal.startswith("⚠️")
    after = (
        await incident(chat.app),
        await kinds(chat),
        await roles(chat.app),
        chat.channel_messages(CH),
        chat.channel_messages("incidents"),
    )
    assert after == before
    assert not chat.private_replies("bob")


async def test_a_redelivered_event_changes_nothing(chat: Driver):
    await declare(chat)
    await chat.send("/incident note Disk at 91%", user="alice", channel=CH)
    replies = chat.private_replies("alice")
    await chat.redeliver()
    assert chat.private_replies("alice") == replies  # no second confirmation
    await chat.send("anyone seen the cron job?", user="alice", channel=CH)
    await chat.redeliver()
    await chat.redeliver()
    counts = await kinds(chat)
    assert (counts["note"], counts["chat"]) == (1, 1)


async def test_a_late_joiner_is_read_in_privately(chat_with_joins: Driver):
    chat = chat_with_joins
    await declare(chat)
    await chat.send("/incident update Failing over to the replica", user="alice", channel=CH)
    await chat.join("erin", CH)
    [read_in] = chat.private_replies("erin")
    assert "Catching up on INC-1" in read_in
    assert "Failing over to the replica" in read_in
    assert "erin" in chat.members(CH)
    assert not any("Catching up" in r for r in chat.private_replies("alice"))
    assert (await kinds(chat))["joined"] == 1
    if isinstance(chat, SlackDriver):  # shown as an ephemeral, only to her
        [ephemeral] = chat.fake.calls_to("chat.postEphemeral")
        assert ephemeral.args["user"] == chat.ids["erin"]
        assert ephemeral.args["channel"] == chat.cid(CH)
        chat.fake.assert_clean()
