"""Capture through the Events API on Slack: messages, thread replies, edits and deletions
reach the incident's timeline; the bot's own messages do not.

Events come from the fake workspace (`say`, `edit`, `delete`), which stores the message
and returns the event Slack would send, so `ts`, `thread_ts` and `previous_message` agree
with what the channel holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.tables import TimelineEntry
from tests.chat_drivers import SlackDriver, slack_driver, timeline

CH = "inc-1-cache-misses"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDriver]:
    async with slack_driver(tmp_path) as s:
        await s.send("/incident declare SEV3 Cache misses", user="alice", channel="general")
        yield s


async def chat_entries(s: SlackDriver) -> list[TimelineEntry]:
    return [e for e in await timeline(s.app) if e.kind.startswith("chat")]


async def test_messages_threads_edits_and_deletions_reach_the_timeline(slack: SlackDriver):
    fake, ch, alice = slack.fake, slack.cid(CH), slack.ids["alice"]
    first = fake.say(ch, alice, "hit rate is 40% &amp; falling")
    await slack.event(first, user=alice)
    reply = fake.say(
        ch, alice, "it's the <https://grafana.example/d/1|eviction graph>", thread_ts=first["ts"]
    )
    await slack.event(reply, user=alice)
    await slack.event(fake.edit(ch, first["ts"], "hit rate is 35% &amp; falling"), user=alice)
    await slack.event(fake.delete(ch, reply["ts"]), user=alice)

    posted, threaded, edited, deleted = await chat_entries(slack)
    assert (posted.kind, posted.text, posted.message_id) == (
        "chat",
        "hit rate is 40% & falling",
        first["ts"],
    )
    assert posted.actor_id == alice
    assert threaded.kind == "chat"
    assert threaded.text == "it's the https://grafana.example/d/1"
    assert threaded.data["thread_id"] == first["ts"]
    assert threaded.data.get("deleted") is True  # marked by the deletion
    assert (edited.kind, edited.text, edited.message_id) == (
        "chat_edited",
        "hit rate is 35% & falling",
        first["ts"],
    )
    assert (deleted.kind, deleted.message_id) == ("chat_deleted", reply["ts"])
    assert [m["ts"] for m in fake.messages(ch) if m.get("user") == alice] == [first["ts"]]
    fake.assert_clean()


async def test_the_bots_own_messages_are_not_captured(slack: SlackDriver):
    fake, ch = slack.fake, slack.cid(CH)
    [card] = [m for m in fake.messages(ch) if m.get("bot_id")]
    # What Slack echoes back for the bot's own posts: a message with its bot_id and user.
    echo = {
        "type": "message",
        "channel": ch,
        "user": "UBOT",
        "bot_id": "BBOT",
        "text": card["text"],
        "ts": card["ts"],
        "channel_type": "channel",
    }
    await slack.event(echo, user="UBOT")
    edited = fake.edit(ch, card["ts"], "edited by the bot")
    edited["message"]["bot_id"] = "BBOT"
    await slack.event(edited, user="UBOT")
    assert await chat_entries(slack) == []


async def test_a_second_message_from_the_same_person_asks_slack_nothing_more(
    slack: SlackDriver,
):
    fake, ch, bob = slack.fake, slack.cid(CH), slack.ids["bob"]
    fake.join(ch, bob)
    await slack.event(fake.say(ch, bob, "on it"), user=bob)
    asked = len([c for c in fake.calls_to("users.info") if c.args.get("user") == bob])
    await slack.event(fake.say(ch, bob, "restarting the cache nodes"), user=bob)
    again = len([c for c in fake.calls_to("users.info") if c.args.get("user") == bob])
    assert asked <= 1 and again == asked
    assert [e.text for e in await chat_entries(slack)] == ["on it", "restarting the cache nodes"]


async def test_captured_messages_show_display_names(slack: SlackDriver):
    fake, ch, bob = slack.fake, slack.cid(CH), slack.ids["bob"]
    fake.join(ch, bob)
    await slack.event(fake.say(ch, bob, "on it"), user=bob)
    await slack.event(fake.say(ch, bob, "restarting the cache nodes"), user=bob)
    assert [e.actor_name for e in await chat_entries(slack)] == ["bob", "bob"]
    assert len([c for c in fake.calls_to("users.info") if c.args.get("user") == bob]) == 1
