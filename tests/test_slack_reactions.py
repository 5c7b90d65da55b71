"""Reaction rules over Slack: real slack_bolt / slack_sdk against the loopback FakeSlack,
events delivered over Socket Mode. Asserted: what the workspace shows and the database holds."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import translate
from adapters.slack.app import SlackBridge, build_slack
from adapters.slack.server import SlackConnection, connect
from bot.clock import ManualClock
from storage import repository as repo
from storage.tables import TimelineEntry
from tests.conftest import make_settings
from tests.slack_fake import FakeSlack


@dataclass
class Slack:
    fake: FakeSlack
    bridge: SlackBridge
    connection: SlackConnection
    alice: str
    bob: str
    channel: str = ""

    async def event(self, event: dict[str, Any]) -> None:
        await self.fake.send_envelope("events_api", self.fake.event_callback(event))
        await self.bridge.idle()

    async def say(self, user: str, text: str) -> str:
        event = self.fake.say(self.channel, user, text)
        await self.event(event)
        return str(event["ts"])

    async def react(self, user: str, emoji: str, ts: str, *, removed: bool = False) -> None:
        await self.event(
            {
                "type": "reaction_removed" if removed else "reaction_added",
                "user": user,
                "reaction": emoji,
                "item_user": self.alice,
                "item": {"type": "message", "channel": self.channel, "ts": ts},
                "event_ts": ts,
            }
        )

    async def entries(self, kind: str) -> list[TimelineEntry]:
        async with self.bridge.core.db.reader() as tx:
            row = await repo.incident_by_number(tx, number=1)
            assert row is not None and row.id is not None
            return [e for e in await repo.timeline(tx, incident_id=row.id) if e.kind == kind]

    async def severity(self) -> str:
        async with self.bridge.core.db.reader() as tx:
            row = await repo.incident_by_number(tx, number=1)
            assert row is not None
            return row.severity


def shown(message: dict[str, Any]) -> str:
    return json.dumps({"text": message["text"], "blocks": message["blocks"]}, ensure_ascii=False)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    """INC-1 declared by alice; bob is in the workspace but not in the incident channel."""
    async with FakeSlack() as fake:
        alice, bob = fake.add_user("alice"), fake.add_user("bob")
        general = fake.add_channel("general", members=[alice, bob])
        fake.add_channel("incidents", members=[alice, bob])
        settings = make_settings(
            tmp_path,
            slack_bot_token="xoxb-test",
            slack_app_token="xapp-test",
            slack_api_url=fake.api_url,
        )
        bridge = await build_slack(settings, clock=ManualClock())
        connection = await connect(bridge)
        try:
            await fake.wait_connected()
            s = Slack(fake, bridge, connection, alice, bob)
            command = fake.slash_command("declare SEV3 Checkout errors", alice, general)
            await fake.send_envelope("slash_commands", command, accepts_response_payload=True)
            await bridge.idle()
            channel = fake.channel_id("inc-1-checkout-errors")
            assert channel is not None
            s.channel = channel
            assert alice in fake.members(channel) and bob not in fake.members(channel)
            yield s
        finally:
            await connection.close()
            await bridge.core.stop()


async def test_a_members_siren_escalates_and_the_channel_notice_names_them(slack: Slack):
    ts = await slack.say(slack.alice, "EU customers are failing too")
    await slack.react(slack.alice, "rotating_light", ts)

    assert await slack.severity() == "SEV2"
    notice = shown(slack.fake.messages(slack.channel)[-1])
    assert f"<@{slack.alice}> changed severity" in notice and "SEV3 → SEV2" in notice
    assert "via 🚨 reaction" in notice
    [change] = await slack.entries("severity")
    assert change.actor_id == slack.alice
    slack.fake.assert_clean()


async def test_a_non_member_changes_nothing_and_is_told_why_until_they_join(slack: Slack):
    fake = slack.fake
    ts = await slack.say(slack.alice, "Errors at 40%")
    shown_before = len(fake.messages(slack.channel))
    await slack.react(slack.bob, "rotating_light", ts)
    await slack.react(slack.bob, "pushpin", ts)

    assert await slack.severity() == "SEV3"
    assert await slack.entries("pinned") == []
    assert len(fake.messages(slack.channel)) == shown_before
    # Slack refuses an ephemeral in a channel to someone not in it, so bob gets a DM.
    told = [shown(m) for m in fake.messages(slack.bob)]
    assert len(told) == 2
    assert "Only members of this incident channel can escalate" in told[0]
    assert "Only members of this incident channel can mark key messages" in told[1]
    assert len(fake.calls_to("conversations.members")) == 1  # the list is cached

    await slack.event(fake.join(slack.channel, slack.bob))  # the cache follows the join
    await slack.react(slack.bob, "rotating_light", ts)
    assert await slack.severity() == "SEV2"
    assert len(fake.calls_to("conversations.members")) == 1
    fake.assert_clean()


async def test_pushpin_stores_the_permalink_and_removing_it_unmarks(slack: Slack):
    ts = await slack.say(slack.alice, "Found it: the 08:55 deploy")
    await slack.react(slack.alice, "pushpin", ts)

    [pinned] = await slack.entries("pinned")
    [call] = slack.fake.calls_to("chat.getPermalink")
    assert (call.args["channel"], call.args["message_ts"]) == (slack.channel, ts)
    link = pinned.data["permalink"]
    assert link.startswith("https://") and link.endswith(f"/{slack.channel}/p{ts.replace('.', '')}")
    assert (pinned.message_id, pinned.text) == (ts, "Found it: the 08:55 deploy")

    await slack.react(slack.alice, "pushpin", ts, removed=True)
    [unpinned] = await slack.entries("unpinned")
    assert unpinned.message_id == ts and unpinned.actor_id == slack.alice
    slack.fake.assert_clean()


def test_membership_events_translate_for_the_member_cache():
    joined = {"event": {"type": "member_joined_channel", "channel": "C1", "user": "U1"}}
    left = {"event": {"type": "member_left_channel", "channel": "C1", "user": "U1"}}
    assert translate.membership(joined) == ("C1", "U1", True)
    assert translate.membership(left) == ("C1", "U1", False)
    assert translate.membership({"event": {"type": "message", "channel": "C1"}}) is None
