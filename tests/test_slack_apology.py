"""A failure in the Slack adapter itself (after the core answered) reaches the person as
the core's apology, with a reference and without the exception's text."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from adapters.slack.app import build_slack
from adapters.slack.server import connect
from bot.clock import ManualClock
from tests.conftest import make_settings
from tests.slack_fake import FakeSlack


async def test_a_form_slack_refuses_to_open_gets_the_apology(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    async with FakeSlack() as fake:
        alice = fake.add_user("alice")
        general = fake.add_channel("general", members=[alice])
        settings = make_settings(
            tmp_path,
            slack_bot_token="xoxb-test",
            slack_app_token="xapp-test",
            slack_api_url=fake.api_url,
        )
        bridge = await build_slack(settings, clock=ManualClock())
        connection = await connect(bridge)
        try:
            fake.fail("views.open", "expired_trigger_id")
            with caplog.at_level(logging.ERROR):
                payload = fake.slash_command("declare", alice, general)  # opens the form
                await fake.send_envelope("slash_commands", payload)
                await bridge.idle()
        finally:
            await connection.close()
            await bridge.core.stop()
    [answer] = fake.responses
    text = json.dumps(answer, ensure_ascii=False)
    assert answer["response_type"] == "ephemeral"
    assert "Sorry, something went wrong handling that" in text, text
    assert "expired_trigger_id" not in text and "Traceback" not in text, text
    [reference] = re.findall(r"ref `([0-9a-f]{8})`", answer["text"])
    assert [r for r in caplog.records if reference in r.getMessage() and r.exc_info]
