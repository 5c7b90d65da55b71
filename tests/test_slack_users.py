"""users.list in the fake (faithful to Slack's spec) and the names people type on Slack.

Slack sends `/incident commander @carol` with the text as typed when the command does not
escape names, and `<@U…|carol>` when it does (or when the user picked from the menu);
both must name the same person.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage import repository as repo
from tests.chat_drivers import SlackDriver, incident, slack_driver
from tests.slack_fake import FakeSlack

CH = "inc-1-db-latency"


async def test_users_list_pages_and_lists_the_bot_too():
    async with FakeSlack() as fake:
        ids = [fake.add_user(n, display_name=f"{n.title()} D") for n in ("ann", "ben", "cy")]
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        first = await client.users_list(limit=2)
        assert [m["id"] for m in first["members"]] == ["UBOT", ids[0]]
        assert isinstance(first["cache_ts"], int)
        cursor = first["response_metadata"]["next_cursor"]
        rest = await client.users_list(limit=2, cursor=cursor)
        assert [m["id"] for m in rest["members"]] == ids[1:]
        assert rest["response_metadata"]["next_cursor"] == ""
        ann = first["members"][1]
        assert (ann["name"], ann["profile"]["display_name"], ann["is_bot"]) == (
            "ann",
            "Ann D",
            False,
        )
        assert first["members"][0]["is_bot"] is True
        with pytest.raises(SlackApiError) as bad:
            await client.users_list(cursor="bogus")
        assert bad.value.response["error"] == "invalid_cursor"
        fake.assert_clean()


async def test_users_list_needs_users_read():
    async with FakeSlack(scopes=["chat:write"]) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        with pytest.raises(SlackApiError) as denied:
            await client.users_list()
        assert denied.value.response["error"] == "missing_scope"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackDriver]:
    async with slack_driver(tmp_path) as s:
        await s.send("/incident declare SEV3 DB latency", user="alice", channel="general")
        yield s


async def commander(s: SlackDriver) -> tuple[str, str]:
    inc = await incident(s.app)
    async with s.app.db.reader() as tx:
        role = (await repo.roles(tx, incident_id=inc.id or 0))["commander"]
    return role.user_id, role.user_name


async def raw_command(s: SlackDriver, text: str, user: str = "alice") -> None:
    """A slash command whose text is sent exactly as given (no escaping by the driver)."""
    uid = s.ids[user]
    await s.envelope("slash_commands", s.fake.slash_command(text, uid, s.cid(CH)), user=uid)


async def test_a_typed_name_and_an_escaped_mention_name_the_same_person(slack: SlackDriver):
    carol = slack.ids["carol"]
    await raw_command(slack, "commander @carol")
    assert await commander(slack) == (carol, "carol")
    assert len(slack.fake.calls_to("users.list")) == 1

    await raw_command(slack, "commander @alice")
    await raw_command(slack, f"commander <@{carol}|carol>")
    assert await commander(slack) == (carol, "carol")
    assert len(slack.fake.calls_to("users.list")) == 1  # names are cached
    assert carol in slack.fake.members(slack.cid(CH))
    slack.fake.assert_clean()


async def test_an_unknown_name_is_refused_and_changes_nothing(slack: SlackDriver):
    before = await commander(slack)
    await raw_command(slack, "commander @mallory")
    assert await commander(slack) == before
    # Slack gets a word joiner after the `@` (adapters/slack/render.py): it reads the same.
    reply = slack.private_replies("alice")[-1].replace("\u2060", "")
    assert "can't find the user `@mallory`" in reply
    slack.fake.assert_clean()
