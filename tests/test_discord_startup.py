"""Starting warroom on Discord against the loopback FakeDiscord: `server.run` end to end
(probe, connect, a declare, a clean stop), and the refusals a real Discord gives: a wrong
token (REST 401, gateway close 4004) and the Message Content intent asked for while the
application lacks it (gateway close 4014)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import yarl

from adapters.discord import server
from adapters.discord.app import build_discord
from bot import cli
from tests import waiting
from tests.chat_drivers import discord_settings, discord_text
from tests.discord_fake import FakeDiscord
from tests.discord_guilds import MESSAGE_CONTENT_INTENT

CH = "inc-1-checkout-errors"
NOT_ENABLED = "the Message Content intent is not enabled for this bot"
OFF_AT_READY = "the Message Content intent is off"


@pytest.fixture(autouse=True)
def restore_discord_urls() -> Iterator[None]:
    """`run` points discord.py at the fake; put Discord's own URLs back afterwards."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


async def until(check: Callable[[], Any], within: float = waiting.WITHIN) -> Any:
    return await waiting.until("the fake Discord to show it", check, within=within, every=0.02)


def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def channel_named(fake: FakeDiscord, name: str) -> dict[str, Any] | None:
    found = [c for c in fake.channels.values() if c["type"] == 0 and c["name"] == name]
    return found[0] if found else None


async def test_run_without_message_content_still_declares_and_stops_cleanly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="warroom.discord")
    sigint = signal.getsignal(signal.SIGINT)
    async with FakeDiscord(app_flags=0) as fake:  # the portal's toggle is off
        alice = fake.add_member("alice")
        general = fake.add_channel("general")
        announce = fake.add_channel("incidents")
        stop = asyncio.Event()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            http_port = probe.getsockname()[1]
        settings = discord_settings(tmp_path, fake, http_port=http_port)
        running = asyncio.create_task(server.run(settings, stop=stop))
        try:
            await until(lambda: logged(caplog, "connected to Discord as") or running.done())
            assert not running.done(), running.result()
            [warning] = logged(caplog, NOT_ENABLED)
            assert warning.levelno == logging.WARNING
            assert logged(caplog, OFF_AT_READY)[0].levelno == logging.WARNING
            # it did not ask for the intent (else Discord would close with 4014)
            [identify] = fake.identify_payloads
            assert identify["token"] == "test-token"
            assert not identify["intents"] & MESSAGE_CONTENT_INTENT

            await fake.slash_command(
                "declare",
                {"title": "Checkout errors", "severity": "SEV2"},
                user_id=alice,
                channel_id=general,
            )
            channel = await until(lambda: channel_named(fake, CH))
            await until(lambda: fake.pins(channel["id"]))
            [announcement] = await until(lambda: fake.messages(announce))
            assert "INC-1" in announcement["embeds"][0]["title"]
            [reply] = await until(lambda: fake.followups)
            assert "Declared" in discord_text(reply["message"])
            # warroom's HTTP server (alert hooks, /healthz, /metrics) runs beside Discord
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{http_port}/healthz") as health,
            ):
                assert health.status == 200 and (await health.json()) == {"status": "ok"}
            # given a `stop` event, run leaves the process's signal handling alone
            assert signal.getsignal(signal.SIGINT) is sigint
        finally:
            stop.set()
            code = await asyncio.wait_for(running, waiting.WITHIN)
        assert code == 0
        await until(lambda: fake._socket is None)  # run closed its gateway connection


async def test_run_with_a_refused_token_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeDiscord(token="the-real-token") as fake:
        settings = discord_settings(tmp_path, fake)  # sends "test-token"
        with pytest.raises(server.DiscordNotConfigured, match="refused WARROOM_DISCORD_TOKEN"):
            await server.run(settings, stop=asyncio.Event())
        # `warroom run` prints it and exits with 2 (bot/cli.py)
        assert await cli._discord(settings) == 2
    assert capsys.readouterr().err.startswith(
        "warroom: Discord refused WARROOM_DISCORD_TOKEN; copy the bot token from the Developer"
    )
    assert fake.identify_payloads == []  # stopped at the REST probe
    assert {r.path for r in fake.requests} == {"/users/@me"}


async def connect_fails(
    settings: Any, fake: FakeDiscord, secret: str, *, message_content: bool
) -> server.DiscordNotConfigured:
    """`connect` a fresh bridge; return the error it raises (closing what it opened)."""
    server.point_at(settings)
    bridge = await build_discord(settings, message_content=message_content)
    try:
        with pytest.raises(server.DiscordNotConfigured) as failed:
            await server.connect(bridge, secret)
        return failed.value
    finally:
        await bridge.close()
        await bridge.app.stop()


async def test_connect_refused_message_content_names_the_intent(tmp_path: Path) -> None:
    async with FakeDiscord(app_flags=0) as fake:
        settings = discord_settings(tmp_path, fake)
        error = await connect_fails(settings, fake, fake.token, message_content=True)
    assert str(error) == server.INTENT_REFUSED
    assert "Message Content intent" in str(error)
    [identify] = fake.identify_payloads  # refused once, not retried
    assert identify["intents"] & MESSAGE_CONTENT_INTENT


async def test_connect_with_a_token_refused_by_rest_or_the_gateway(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        settings = discord_settings(tmp_path, fake)
        error = await connect_fails(settings, fake, "wrong", message_content=True)
        assert str(error) == server.TOKEN_REFUSED
        assert fake.identify_payloads == []
        # REST accepts it, the gateway does not (reset in the portal meanwhile): 4004
        fake.gateway_token = "reset-token"
        error = await connect_fails(settings, fake, fake.token, message_content=True)
        assert str(error) == server.TOKEN_REFUSED
        assert [p["token"] for p in fake.identify_payloads] == [fake.token]


async def test_run_ends_with_1_when_discord_closes_the_connection_for_good(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A resumable drop is resumed (test_discord_scenarios); a fatal close code (4004: the
    token was reset while running) ends `warroom run` with 1 and says why."""
    caplog.set_level(logging.INFO, logger="warroom.discord")
    async with FakeDiscord() as fake:
        running = asyncio.create_task(
            server.run(discord_settings(tmp_path, fake), stop=asyncio.Event())
        )
        await until(lambda: logged(caplog, "connected to Discord as") or running.done())
        assert not running.done(), running.result()
        await fake.close_gateway(4004)
        code = await asyncio.wait_for(running, waiting.WITHIN)
    assert code == 1
    [ended] = logged(caplog, "the Discord connection ended")
    assert ended.levelno == logging.ERROR
