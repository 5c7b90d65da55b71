"""The Slack adapter end to end: real slack_bolt / slack_sdk against the loopback FakeSlack.

Socket Mode for the lifecycle; HTTP mode for request signing. What is asserted is what
the fake workspace shows (channels, messages, pins, topics, files, ephemeral replies) and
what the database holds.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from adapters.slack.app import SlackBridge, build_slack
from adapters.slack.server import EVENTS_PATH, SlackConnection, connect
from bot.clock import ManualClock
from tests.conftest import make_settings
from tests.slack_fake import FakeSlack
from tests.slack_payloads import form_body, signed_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class Slack:
    fake: FakeSlack
    bridge: SlackBridge
    connection: SlackConnection
    alice: str
    bob: str
    general: str
    incidents: str

    async def send(self, kind: str, payload: dict[str, Any], **kw: Any) -> dict[str, Any]:
        ack = await self.fake.send_envelope(kind, payload, **kw)
        await self.bridge.idle()
        return ack

    async def command(self, text: str, channel: str, user: str | None = None) -> dict[str, Any]:
        payload = self.fake.slash_command(text, user or self.alice, channel)
        return await self.send("slash_commands", payload, accepts_response_payload=True)

    def channel(self, name: str) -> str:
        cid = self.fake.channel_id(name)
        assert cid is not None, f"no channel #{name}"
        return cid

    def replies(self) -> str:
        return json.dumps(self.fake.responses + self.fake.ephemerals, ensure_ascii=False)

    async def count(self, kind: str) -> int:
        async with self.bridge.core.db.reader() as tx:
            result = await tx.exec(  # type: ignore[call-overload]
                text("SELECT count(*) FROM timeline_entry WHERE kind = :k"), params={"k": kind}
            )
            return int(result.one()[0])


def shown(message: dict[str, Any]) -> str:
    return json.dumps({"text": message["text"], "blocks": message["blocks"]}, ensure_ascii=False)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with FakeSlack() as fake:
        alice, bob = fake.add_user("alice"), fake.add_user("bob")
        general = fake.add_channel("general", members=[alice, bob])
        incidents = fake.add_channel("incidents", members=[alice, bob])
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
            yield Slack(fake, bridge, connection, alice, bob, general, incidents)
        finally:
            await connection.close()
            await bridge.core.stop()


async def test_the_full_lifecycle_over_socket_mode(slack: Slack):
    fake = slack.fake
    ack = await slack.command(
        f"declare SEV2 Checkout errors --commander <@{slack.bob}|bob>", slack.general
    )
    assert ack["envelope_id"]

    ch = slack.channel("inc-1-checkout-errors")
    [card] = fake.messages(ch)
    assert "INC-1 · Checkout errors" in shown(card)
    assert card["blocks"][0]["type"] == "header"
    assert fake.pins(ch) == [card["ts"]]
    assert "SEV2" in fake.topic(ch)
    assert {slack.alice, slack.bob} <= set(fake.members(ch))
    [announcement] = fake.messages(slack.incidents)
    assert "INC-1" in shown(announcement) and "SEV2" in shown(announcement)
    assert "Declared" in slack.replies()
    assert all(r.get("response_type") == "ephemeral" for r in fake.responses)

    await slack.command("sev SEV1", ch)
    updated = [c for c in fake.calls_to("chat.update") if c.args.get("channel") == slack.incidents]
    assert updated and updated[-1].args["ts"] == announcement["ts"]
    [announcement] = fake.messages(slack.incidents)  # still one message: updated in place
    assert "SEV1" in shown(announcement)

    await slack.command("update Rolled back the gateway config", ch)
    assert await slack.count("update") == 1
    refreshed = [
        c for c in fake.calls_to("chat.update") if c.args.get("channel") == slack.incidents
    ]
    assert len(refreshed) > len(updated) and refreshed[-1].args["ts"] == announcement["ts"]
    assert fake.messages(slack.incidents)[0]["ts"] == announcement["ts"]

    await slack.command("resolve Rollback fixed it", ch)
    [(_title, filename, content)] = fake.files(ch)
    assert filename == "INC-1-postmortem.md"
    assert b"Checkout errors" in content
    assert fake.calls_to("files.getUploadURLExternal") and fake.calls_to(
        "files.completeUploadExternal"
    )
    assert not fake.calls_to("files.upload")
    announcement = fake.messages(slack.incidents)[0]
    assert "resolved" in shown(announcement).lower()
    fake.assert_clean()


async def test_a_taken_name_gets_a_suffix(slack: Slack):
    slack.fake.add_channel("inc-1-checkout-errors")
    await slack.command("declare SEV3 Checkout errors", slack.general)
    ch = slack.channel("inc-1-checkout-errors-2")
    assert len(slack.fake.messages(ch)) == 1
    slack.fake.assert_clean()


async def test_a_mention_in_a_title_pings_nobody_in_the_announcement(slack: Slack):
    # What Slack sends when someone types "@channel" and "<@U…>" into the command.
    await slack.command(
        f"declare SEV2 <!channel> db down, ask <@{slack.bob}|bob> &amp; co", slack.general
    )
    [announcement] = slack.fake.messages(slack.incidents)
    body = shown(announcement)
    assert "<!channel>" not in body and f"<@{slack.bob}>" not in body
    assert "&lt;!channel&gt; db down" in body
    slack.fake.assert_clean()


async def test_a_redelivered_event_is_recorded_once(slack: Slack):
    await slack.command("declare SEV3 Disk full", slack.general)
    ch = slack.channel("inc-1-disk-full")
    event = {
        "type": "message",
        "channel": ch,
        "user": slack.alice,
        "text": "cleaning /var/log &amp; tmp",
        "ts": f"{time.time():.6f}",
        "channel_type": "channel",
    }
    payload = slack.fake.event_callback(event, event_id="Ev0DUPLICATE")
    await slack.send("events_api", payload)
    await slack.send("events_api", payload, retry_attempt=1)
    assert await slack.count("chat") == 1
    own = slack.fake.event_callback({**event, "user": "UBOT", "bot_id": "BBOT"})
    await slack.send("events_api", own)
    assert await slack.count("chat") == 1


async def test_a_rate_limit_is_waited_out(slack: Slack):
    slack.fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    started = time.monotonic()
    await slack.command("declare SEV3 Slow search", slack.general)
    assert time.monotonic() - started >= 1.0
    ch = slack.channel("inc-1-slow-search")
    assert len(slack.fake.messages(ch)) == 1  # the card, posted once after the 429
    assert await slack.count("effect_failed") == 0
    slack.fake.assert_clean()


async def test_a_transient_server_error_is_retried(slack: Slack):
    slack.fake.unavailable("conversations.setTopic", times=1, status=503)
    await slack.command("declare SEV3 Slow search", slack.general)
    ch = slack.channel("inc-1-slow-search")
    assert "SEV3" in slack.fake.topic(ch)  # set on the retry
    assert len(slack.fake.calls_to("conversations.setTopic")) == 2
    assert await slack.count("effect_failed") == 0


async def test_buttons_and_forms(slack: Slack):
    fake = slack.fake
    await slack.command("", slack.general)
    [declare] = fake.views
    assert declare["callback_id"] == "declare"
    values = {
        "title": {"title": {"type": "plain_text_input", "value": "Payments down"}},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "SEV1"}}},
        "flags": {"flags": {"type": "checkboxes", "selected_options": [{"value": "drill"}]}},
    }
    await slack.send(
        "interactive",
        fake.view_submission("declare", values, slack.alice, declare["private_metadata"]),
    )
    ch = slack.channel("inc-1-payments-down")
    [card] = fake.messages(ch)
    assert fake.messages(slack.incidents) == []  # a drill is not announced

    press = fake.block_action("incident.post_update", "1", slack.alice, ch, card["ts"])
    await slack.send("interactive", press)
    update = fake.views[-1]
    assert update["callback_id"] == "update"
    assert json.loads(update["private_metadata"])["channel"] == ch
    text_value = {"text": {"text": {"type": "plain_text_input", "value": "Failing over"}}}
    await slack.send(
        "interactive",
        fake.view_submission("update", text_value, slack.alice, update["private_metadata"]),
    )
    assert await slack.count("update") == 1
    fake.assert_clean()


async def test_http_mode_checks_signatures(tmp_path: Path):
    async with FakeSlack() as fake:
        alice = fake.add_user("alice")
        general = fake.add_channel("general", members=[alice])
        settings = make_settings(
            tmp_path,
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
            http_port=0,
        )
        bridge = await build_slack(settings, clock=ManualClock())
        connection = await connect(bridge)
        url = f"http://127.0.0.1:{connection.port}{EVENTS_PATH}"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            async with aiohttp.ClientSession() as http:

                async def post(body: str, headers: dict[str, str]) -> int:
                    async with http.post(url, data=body, headers={**form, **headers}) as r:
                        return r.status

                body = form_body(fake.slash_command("help", alice, general))
                assert await post(body, signed_request(body, "not-the-secret")) == 401
                stale = signed_request(body, SECRET, timestamp=int(time.time()) - 600)
                assert await post(body, stale) == 401
                assert await post(body, signed_request(body, SECRET)) == 200
                await bridge.idle()
            assert len(fake.responses) == 1
            assert "/incident" in json.dumps(fake.responses[0])
        finally:
            await connection.close()
            await bridge.core.stop()
        fake.assert_clean()


async def test_update_and_resolve_without_text_open_their_forms(slack: Slack):
    fake = slack.fake
    await slack.command("declare SEV2 Checkout errors --playbook default", slack.general)
    ch = slack.channel("inc-1-checkout-errors")

    await slack.command("update", ch)
    update = fake.views[-1]
    assert update["callback_id"] == "update"
    assert json.loads(update["private_metadata"])["channel"] == ch
    text_value = {"text": {"text": {"type": "plain_text_input", "value": "Rolled back"}}}
    await slack.send(
        "interactive",
        fake.view_submission("update", text_value, slack.alice, update["private_metadata"]),
    )
    assert await slack.count("update") == 1

    await slack.command("resolve", ch)
    resolve = fake.views[-1]
    assert resolve["callback_id"] == "resolve"
    summary = {"summary": {"summary": {"type": "plain_text_input", "value": "Deploy reverted"}}}
    await slack.send(
        "interactive",
        fake.view_submission("resolve", summary, slack.alice, resolve["private_metadata"]),
    )
    assert await slack.count("resolved") == 1
    fake.assert_clean()


async def test_the_declare_form_offers_impact_and_urgency_for_matrix_playbooks(slack: Slack):
    fake = slack.fake
    await slack.command("", slack.general)
    [form] = fake.views
    blocks = {b["block_id"]: b for b in form["blocks"]}
    impacts = [o["value"] for o in blocks["impact"]["element"]["options"]]
    assert impacts == ["high", "medium", "low"]
    assert [o["value"] for o in blocks["urgency"]["element"]["options"]] == impacts

    def pick(name: str, value: str) -> dict[str, Any]:
        return {name: {"type": "static_select", "selected_option": {"value": value}}}

    values = {
        "title": {"title": {"type": "plain_text_input", "value": "Checkout down"}},
        "playbook": pick("playbook", "customer-facing-outage"),
        "impact": pick("impact", "high"),
        "urgency": pick("urgency", "high"),
    }
    await slack.send(
        "interactive",
        fake.view_submission("declare", values, slack.alice, form["private_metadata"]),
    )
    async with slack.bridge.core.db.reader() as tx:
        row = (
            await tx.exec(  # type: ignore[call-overload]
                text("SELECT severity, impact, urgency FROM incident WHERE number = 1")
            )
        ).one()
    assert tuple(row) == ("SEV1", "high", "high")
    fake.assert_clean()


async def test_a_failure_after_the_core_answered_gets_the_apology(
    slack: Slack, caplog: pytest.LogCaptureFixture
):
    """Slack refuses to open the declare form: the person gets the core's apology with a
    reference (the traceback is in the log), never the exception's text."""
    slack.fake.fail("views.open", "expired_trigger_id")
    with caplog.at_level(logging.ERROR):
        await slack.send(
            "slash_commands", slack.fake.slash_command("declare", slack.alice, slack.general)
        )
    [answer] = slack.fake.responses
    shown = json.dumps(answer, ensure_ascii=False)
    assert answer["response_type"] == "ephemeral"
    assert "Sorry, something went wrong handling that" in shown, shown
    assert "expired_trigger_id" not in shown and "Traceback" not in shown, shown
    [reference] = re.findall(r"ref `([0-9a-f]{8})`", answer["text"])
    assert [r for r in caplog.records if reference in r.getMessage() and r.exc_info]
