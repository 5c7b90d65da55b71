"""Connecting the bridge to Slack: Socket Mode, or HTTP on warroom's own aiohttp server.

- Socket Mode (WARROOM_SLACK_APP_TOKEN set): slack_bolt's AsyncSocketModeHandler over
  the bridge's web client, so apps.connections.open goes to `slack_api_url`; the
  WebSocket URL it returns is followed as given.
- HTTP mode (WARROOM_SLACK_SIGNING_SECRET and no app token): POST /slack/events takes
  events, interactivity and slash commands. Bolt checks the signature and rejects
  timestamps older than 5 minutes with 401.

Either way warroom's one HTTP server (`adapters.web.server`: alert hooks, /healthz, /metrics)
runs on WARROOM_HTTP_HOST:WARROOM_HTTP_PORT; in HTTP mode /slack/events is mounted on it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from adapters.slack.app import SlackBridge, build_slack
from adapters.web.server import start_http
from bot.config import Settings
from bot.port import ChatError

log = logging.getLogger("warroom.slack")

EVENTS_PATH = "/slack/events"


class SlackNotConfigured(Exception):
    """The bot token is set but neither an app token nor a signing secret is."""


def mode(settings: Settings) -> str:
    if settings.slack_app_token is not None:
        return "socket"
    if settings.slack_signing_secret is not None:
        return "http"
    raise SlackNotConfigured(
        "WARROOM_SLACK_BOT_TOKEN is set, but Slack needs either WARROOM_SLACK_APP_TOKEN "
        "(Socket Mode) or WARROOM_SLACK_SIGNING_SECRET (HTTP mode, served on "
        "WARROOM_HTTP_HOST:WARROOM_HTTP_PORT at /slack/events)."
    )


def routes(bridge: SlackBridge) -> list[web.RouteDef]:
    """HTTP mode's one route, mounted on warroom's shared server."""

    async def events(request: web.Request) -> web.Response:
        response = await bridge.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    return [web.post(EVENTS_PATH, events)]


@dataclass
class SlackConnection:
    bridge: SlackBridge
    socket: AsyncSocketModeHandler | None = None
    runner: web.AppRunner | None = None
    port: int = 0

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close_async()  # type: ignore[no-untyped-call]
        if self.runner is not None:
            await self.runner.cleanup()
        await self.bridge.idle()


async def connect(bridge: SlackBridge) -> SlackConnection:
    settings = bridge.settings
    if mode(settings) == "socket":
        assert settings.slack_app_token is not None
        # Check the app-level token once first: with a bad one the Socket Mode client
        # would retry forever instead of saying so.
        try:
            await bridge.client.apps_connections_open(
                app_token=settings.slack_app_token.get_secret_value()
            )
        except SlackApiError as exc:
            raise SlackNotConfigured(
                f"Slack refused WARROOM_SLACK_APP_TOKEN ({exc.response.get('error')}); it must "
                "be an app-level token (xapp-…) with the connections:write scope"
            ) from None
        handler = AsyncSocketModeHandler(
            bridge.bolt,
            settings.slack_app_token.get_secret_value(),
            web_client=bridge.client,
            logger=logging.getLogger("warroom.slack.socket"),
        )
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("connected to Slack in Socket Mode")
        return SlackConnection(bridge, socket=handler)
    runner, bound = await start_http(bridge.core, settings, routes(bridge))
    log.info("serving Slack on http://%s:%s%s", settings.http_host, bound, EVENTS_PATH)
    return SlackConnection(bridge, runner=runner, port=bound)


async def run(settings: Settings) -> int:
    """`warroom run` with Slack: connect, serve HTTP, start the scheduler, run until
    SIGINT/SIGTERM. Raises `HttpBindError` when the HTTP address is unavailable."""
    mode(settings)  # fail before touching the database
    bridge = await build_slack(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    connection: SlackConnection | None = None
    try:
        try:
            await bridge.port.bot_id()  # auth.test: a bad token fails here, clearly
        except ChatError as exc:
            raise SlackNotConfigured(
                f"Slack did not accept WARROOM_SLACK_BOT_TOKEN or could not be reached ({exc}); "
                "check WARROOM_SLACK_API_URL and copy the Bot User OAuth Token (xoxb-…) from "
                "the app's OAuth & Permissions page"
            ) from None
        connection = await connect(bridge)  # HTTP mode: the shared server, with /slack/events
        if connection.runner is None:
            connection.runner, connection.port = await start_http(bridge.core, settings)
        await bridge.core.start_scheduler()
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if connection is not None:
            await connection.close()
        await bridge.core.stop()
    return 0
