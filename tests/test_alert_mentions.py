"""Monitoring text never becomes a mention, on any platform.

Every field of an alert (title, key, group, severity, summary, label names and values,
annotations, link labels and URLs) may carry mention syntax, the core's own mention
tokens between control characters, lone surrogates and markup. Whatever warroom then
posts (the card, the announcement, the topic, the alert messages) must mention nobody:

- rendered for Slack (`adapters/slack/render.py`): no `<@…>`, no `<!…>` (here, channel,
  everyone, a user group), and a `<#…>` only for a channel warroom made itself;
- rendered for Discord (`adapters/discord/render.py`): nobody in `allowed_mentions`, no
  mention in the content, and no raw mention syntax left in the embed.

The property runs deliveries through `Bot.handle` (where the one sanitiser runs) on the
console platform and renders what it posted with both adapters' render functions; the
end-to-end tests send a hostile delivery through the HTTP hook to the real Slack and
Discord SDKs on their loopback fakes and read what the fakes received.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.console.app import build_console
from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from adapters.web.server import start_http
from bot.alerts.model import SOURCES, Alert, Link
from bot.app import App
from bot.clock import ManualClock
from bot.events import AlertsReceived
from bot.port import ChannelRef, RichMessage, UserRef
from tests.alert_payloads import alertmanager_alert, alertmanager_payload, generic_payload
from tests.chat_drivers import discord_bridge, discord_settings, slack_driver
from tests.conftest import make_settings
from tests.discord_fake import FakeDiscord
from tests.hostile_http import text

pytestmark = pytest.mark.usefixtures("db_url")  # on SQLite and PostgreSQL

TOKEN = "hook-token"
FORGED = (
    "\x02@U123\x03",
    "\x02@123456789012345678\x03",
    "\x02#C1\x03",
    "<@U123>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "<!here>",
    "<!channel>",
    "<!subteam^S1>",
    "@everyone",
    "@here",
    "<#C1>",
)
hostile = st.one_of(text, st.sampled_from(FORGED), st.lists(st.sampled_from(FORGED)).map("".join))
links = st.lists(st.builds(Link, label=hostile, url=hostile), max_size=3)
alerts = st.builds(
    Alert,
    source=st.sampled_from(SOURCES),
    key=hostile,
    status=st.sampled_from(["firing", "firing", "resolved"]),
    title=hostile,
    group=st.one_of(st.just("one group"), hostile),
    severity=hostile,
    summary=hostile,
    labels=st.dictionaries(hostile, hostile, max_size=3),
    annotations=st.dictionaries(hostile, hostile, max_size=2),
    links=links,
)

_SLACK_TOKEN = re.compile(r"<([@!#])([^>]*)>")
_DISCORD_PING = re.compile(r"<@[!&]?\d+>|@(everyone|here)")
_DISCORD_CHANNEL = re.compile(r"<#(\d+)>")


def slack_texts(node: Any) -> list[str]:
    """Every string inside a Slack payload (block texts, fallback, topic)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in slack_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in slack_texts(v)]
    return []


def assert_no_slack_mention(texts: list[str], channels: set[str]) -> None:
    for found in (m for t in texts for m in _SLACK_TOKEN.finditer(t)):
        kind, target = found.groups()
        assert kind == "#" and target in channels, (found.group(0), texts)


def assert_no_discord_text_mention(texts: list[str], channels: set[str]) -> None:
    """No ping syntax left unescaped; `<#id>` only for a channel warroom made."""
    for t in texts:
        assert not _DISCORD_PING.search(t), t
        for found in _DISCORD_CHANNEL.finditer(t):
            assert found.group(1) in channels, (found.group(0), t)


def assert_no_discord_mention(payload: dict[str, Any], channels: set[str]) -> None:
    allowed = payload.get("allowed_mentions") or {}
    assert not allowed.get("users") and not allowed.get("roles"), payload
    assert not allowed.get("parse") and not allowed.get("replied_user"), payload
    texts = [payload.get("content") or "", *slack_texts(payload.get("embeds") or [])]
    assert_no_discord_text_mention(texts, channels)


def check_posted(message: RichMessage, topic: str | None, channels: set[str]) -> None:
    """What the core posted, rendered by each adapter, mentions nobody."""
    rendered = slack_render.render(message)
    texts = slack_texts(rendered) + ([slack_render.topic(topic)] if topic else [])
    assert_no_slack_mention(texts, channels)
    discord = discord_render.render(message)
    assert discord.allowed_mentions.users == [] and not discord.allowed_mentions.everyone
    assert not discord.allowed_mentions.roles
    as_json = {
        "content": discord.content,
        "embeds": [discord.embed.to_dict()],
        "allowed_mentions": discord.allowed_mentions.to_dict(),
    }
    assert_no_discord_mention(as_json, channels)
    if topic:
        assert_no_discord_text_mention([discord_render.topic(topic)], channels)


async def deliver(app: App, batch: list[Alert]) -> None:
    source = batch[0].source
    outcome = await app.bot.handle(
        AlertsReceived(
            key=uuid.uuid4().hex,
            user=UserRef(source, source.title()),
            channel=ChannelRef(""),
            source=source,
            alerts=tuple(a for a in batch if a.source == source),
        )
    )
    assert outcome.report is not None, outcome.reply and outcome.reply.plain()


def test_property_alert_text_never_mentions_anyone(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    app, session = loop.run_until_complete(
        build_console(make_settings(tmp_path), clock=ManualClock())
    )
    ws = session.ws
    seen: set[str] = set()

    @given(st.lists(alerts, min_size=1, max_size=3))
    def one(batch: list[Alert]) -> None:
        loop.run_until_complete(deliver(app, batch))
        channels = {c.id for c in ws.channels.values()}
        for channel in ws.channels.values():
            for msg in channel.messages:
                if msg.id in seen or msg.rich is None:
                    continue
                seen.add(msg.id)
                check_posted(msg.rich, None, channels)
            if channel.topic:
                check_posted(RichMessage(text=""), str(channel.topic), channels)

    try:
        one()
        assert seen, "no delivery posted anything"
    finally:
        loop.run_until_complete(app.stop())
        loop.close()


def hostile_deliveries() -> list[tuple[str, Any]]:
    """One of each kind: a declare, a join in its group, a resolve, a generic alert."""
    odd = (
        "\x02@U123\x03 \x02@123456789012345678\x03 <@U123> <!here> @everyone"
        " <@&123456789012345678> <#C1>"
    )
    labels = {f"team{odd}": odd, "severity": "critical"}
    first = alertmanager_alert(
        labels=labels,
        annotations={"summary": f"Disk {odd}", "runbook_url": f"https://r.example/{odd}"},
        generator_url=f"https://prom.example/{odd}",
    )
    second = alertmanager_alert(labels={**labels, "pod": odd}, fingerprint="joined")
    generic = generic_payload(
        title=odd,
        dedup_key=odd,
        summary=odd,
        labels={odd: odd},
        links=[{"label": odd, "url": f"https://x.example/{odd}"}, f"https://y.example/{odd}"],
    )
    return [
        ("alertmanager", alertmanager_payload([first], group_key=odd)),
        ("alertmanager", alertmanager_payload([second], group_key=odd)),
        ("alertmanager", alertmanager_payload([{**second, "status": "resolved"}], group_key=odd)),
        ("generic", generic),
    ]


async def post_all(app: App) -> None:
    runner, port = await start_http(app, app.settings)
    try:
        async with aiohttp.ClientSession() as http:
            for source, payload in hostile_deliveries():
                async with http.post(
                    f"http://127.0.0.1:{port}/hooks/{source}",
                    data=json.dumps(payload),
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ) as r:
                    assert r.status == 200, await r.text()
    finally:
        await runner.cleanup()


async def test_a_hostile_delivery_mentions_nobody_on_slack(tmp_path: Path) -> None:
    async with slack_driver(tmp_path, hook_token=TOKEN, http_port=0) as slack:
        await post_all(slack.app)
        await slack.bridge.idle()
        fake = slack.fake
        channels = {c for c in (fake.channel_id(n) for n in ("incidents",)) if c}
        channels |= {str(c.args.get("channel")) for c in fake.calls_to("chat.postMessage")}
        posted = [
            c.args
            for c in fake.calls
            if c.method in ("chat.postMessage", "chat.update", "conversations.setTopic")
        ]
        assert len(posted) >= 6, [c.method for c in fake.calls]
        for args in posted:
            texts = slack_texts({k: args.get(k) for k in ("text", "blocks", "topic")})
            assert_no_slack_mention(texts, channels)
        fake.assert_clean()


async def test_a_hostile_delivery_mentions_nobody_on_discord(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        fake.add_channel("general")
        fake.add_channel("incidents")
        settings = discord_settings(tmp_path, fake, hook_token=TOKEN)
        async with discord_bridge(settings, fake, ManualClock()) as bridge:
            await post_all(bridge.app)
        channels = {str(c["id"]) for c in fake.channels.values()}
        sent = [
            r.body
            for r in fake.requests
            if r.method in ("POST", "PATCH")
            and re.fullmatch(r"/channels/\d+/messages(/\d+)?", r.path)
        ]
        assert len(sent) >= 5, [(r.method, r.path) for r in fake.requests]
        for body in sent:
            assert_no_discord_mention(body, channels)
        topics = [
            str(r.body.get("topic") or "")
            for r in fake.requests
            if r.method == "PATCH" and re.fullmatch(r"/channels/\d+", r.path) and r.body
        ]
        assert any(topics), "no topic was set"
        assert_no_discord_text_mention(topics, channels)
