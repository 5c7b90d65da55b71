"""Slack HTTP mode mounts /slack/events on warroom's one server, beside the hooks."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from adapters.slack.app import build_slack
from adapters.slack.server import EVENTS_PATH, connect
from bot.clock import ManualClock
from tests.alert_payloads import generic_payload
from tests.conftest import make_settings
from tests.slack_fake import FakeSlack
from tests.slack_payloads import form_body, signed_request

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


async def test_slack_events_hooks_and_metrics_share_one_port(tmp_path: Path):
    async with FakeSlack() as fake:
        alice = fake.add_user("alice")
        general = fake.add_channel("general", members=[alice])
        settings = make_settings(
            tmp_path,
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
            http_port=0,
            hook_token="hook-token",
        )
        bridge = await build_slack(settings, clock=ManualClock())
        connection = await connect(bridge)
        base = f"http://127.0.0.1:{connection.port}"
        try:
            async with aiohttp.ClientSession() as http:
                body = form_body(fake.slash_command("help", alice, general))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    **signed_request(body, SECRET),
                }
                async with http.post(base + EVENTS_PATH, data=body, headers=headers) as r:
                    assert r.status == 200
                await bridge.idle()
                auth = {"Authorization": "Bearer hook-token"}
                async with http.post(
                    f"{base}/hooks/generic", json=generic_payload(), headers=auth
                ) as r:
                    assert r.status == 200, await r.text()
                    assert (await r.json())["received"] == 1
                async with http.get(f"{base}/healthz") as r:
                    assert r.status == 200
                async with http.get(f"{base}/metrics") as r:
                    text = await r.text()
            assert f'warroom_http_requests_total{{path="{EVENTS_PATH}",status="200"}} 1' in text
            assert 'warroom_http_requests_total{path="/hooks/generic",status="200"} 1' in text
            assert len(fake.responses) == 1
        finally:
            await connection.close()
            await bridge.core.stop()
        fake.assert_clean()
