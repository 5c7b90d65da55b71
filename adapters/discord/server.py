"""Connecting to Discord: point discord.py at the configured URLs, probe the token,
connect the gateway (bounded by a timeout), run until SIGINT/SIGTERM (or until the
`stop` event given to `run` is set)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import discord
import yarl
from aiohttp import web

from adapters.discord.app import DiscordBridge, build_discord, without_voice
from adapters.web.server import start_http
from bot.config import Settings

log = logging.getLogger("warroom.discord")

CONNECT_TIMEOUT = 30.0
REQUIRED_PERMISSIONS = (
    ("manage_channels", "Manage Channels"),
    ("manage_roles", "Manage Roles (for permission overwrites)"),
    ("view_channel", "View Channels"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("attach_files", "Attach Files"),
    ("read_message_history", "Read Message History"),
    ("manage_messages", "Manage Messages (pins)"),
    ("add_reactions", "Add Reactions"),
    ("use_application_commands", "Use Application Commands"),
)


class DiscordNotConfigured(Exception):
    """Settings are missing, the token is refused, or Discord cannot be reached."""


def point_at(settings: Settings) -> None:
    """Send REST calls and the gateway connection where the settings say (a proxy or a
    test server); the defaults are Discord's own."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def token(settings: Settings) -> str:
    if settings.discord_token is None:
        raise DiscordNotConfigured("WARROOM_DISCORD_TOKEN is not set")
    if not settings.discord_guilds:
        raise DiscordNotConfigured(
            "WARROOM_DISCORD_TOKEN is set, but WARROOM_DISCORD_GUILD_IDS is not: give the "
            "id of the server (guild) that holds incident channels (Developer Mode, "
            "right-click the server, Copy Server ID)"
        )
    return settings.discord_token.get_secret_value()


@dataclass
class Probe:
    user: str = ""
    message_content: bool = True
    lines: list[str] = field(default_factory=list)
    missing: dict[int, list[str]] = field(default_factory=dict)


TOKEN_REFUSED = (
    "Discord refused WARROOM_DISCORD_TOKEN; copy the bot token from the Developer "
    "Portal (Bot page, Reset Token)"
)
INTENT_REFUSED = (
    "Discord refused the Message Content intent; turn it on in the Developer "
    "Portal (Bot page) or it is capped for unverified bots in 100+ servers"
)


async def _login(
    client: discord.Client, secret: str, url: str, seconds: float = CONNECT_TIMEOUT
) -> None:
    try:
        await asyncio.wait_for(client.login(secret), seconds)
    except discord.LoginFailure:
        raise DiscordNotConfigured(TOKEN_REFUSED) from None
    except TimeoutError:
        raise DiscordNotConfigured(
            f"no answer from Discord at {url} within {seconds:g} s; "
            "check WARROOM_DISCORD_API_URL and the network"
        ) from None
    except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
        raise DiscordNotConfigured(
            f"Discord could not be reached at {url} ({type(exc).__name__}: {exc}); "
            "check WARROOM_DISCORD_API_URL and the network"
        ) from None


async def probe(
    settings: Settings,
    *,
    permissions: bool,
    visit: Callable[[discord.Client], Awaitable[None]] | None = None,
    login_within: float = CONNECT_TIMEOUT,
) -> Probe:
    """Log in over REST only: who the bot is, whether it may read message content, and
    (with `permissions`) which guild permissions it lacks; then `visit` the logged-in
    client (`warroom check` looks channels and people up) before it is closed."""
    secret = token(settings)
    without_voice()
    # REST only (no gateway), so intents do not matter; without `guilds` discord.py warns
    # that state may be wrong, about a state this client never keeps.
    client = discord.Client(intents=discord.Intents(guilds=True))
    result = Probe()
    try:
        await _login(client, secret, settings.discord_api_url, login_within)
        me = client.user
        assert me is not None
        result.user = f"{me} ({me.id})"
        try:
            flags = (await client.application_info()).flags
            result.message_content = (
                flags.gateway_message_content or flags.gateway_message_content_limited
            )
        except discord.HTTPException:
            log.warning("could not read the application's flags; asking for message content")
        if permissions:
            for guild_id in settings.discord_guilds:
                result.missing[guild_id] = await _missing(client, guild_id, me.id)
        if visit is not None:
            await visit(client)
    finally:
        await client.close()
    return result


async def _missing(client: discord.Client, guild_id: int, user_id: int) -> list[str]:
    try:
        guild = await client.fetch_guild(guild_id)
        member = await guild.fetch_member(user_id)
    except discord.NotFound:
        return [
            "(the bot is not in this server: invite it with the bot and "
            "applications.commands scopes)"
        ]
    except discord.HTTPException as exc:
        return [f"(could not read the bot's permissions: {exc.status} {exc.text})"]
    granted = member.guild_permissions
    return [label for name, label in REQUIRED_PERMISSIONS if not getattr(granted, name)]


async def connect(bridge: DiscordBridge, secret: str) -> asyncio.Task[None]:
    """Start the client and wait until the gateway says READY (or fail within the timeout)."""
    runner = asyncio.get_running_loop().create_task(bridge.start(secret))
    # (wait_until_ready() would fail: it may only be awaited once login has begun)
    ready = asyncio.get_running_loop().create_task(bridge.connected.wait())
    done, _ = await asyncio.wait(
        {runner, ready}, timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if ready in done:
        return runner
    ready.cancel()
    gateway = bridge.settings.discord_gateway_url
    if runner in done:
        exc = runner.exception()
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            raise DiscordNotConfigured(INTENT_REFUSED)
        refused = isinstance(exc, discord.ConnectionClosed) and exc.code == 4004
        if refused or isinstance(exc, discord.LoginFailure):
            raise DiscordNotConfigured(TOKEN_REFUSED)
        raise DiscordNotConfigured(f"could not connect to the Discord gateway {gateway}: {exc}")
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await runner
    raise DiscordNotConfigured(
        f"no answer from the Discord gateway {gateway} within {CONNECT_TIMEOUT:.0f} s; "
        "check WARROOM_DISCORD_GATEWAY_URL and the network"
    )


async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    """`warroom run` with Discord: connect, start the scheduler, run until stopped: by
    SIGINT or SIGTERM, or, when a `stop` event is given (a test, an embedding program),
    when it is set (no signal handlers are installed then). 0 on a clean stop, 1 if the
    connection ended; `DiscordNotConfigured` if it could not start."""
    secret = token(settings)  # fail before touching the database
    point_at(settings)
    found = await probe(settings, permissions=False)
    if not found.message_content:
        log.warning(
            "the Message Content intent is not enabled for this bot: warroom keeps working, "
            "but chat in incident channels is captured without its text. Enable 'Message "
            "Content Intent' in the Developer Portal (Bot page) and restart."
        )
    bridge = await build_discord(settings, message_content=found.message_content)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if stop is None else ()
    if stop is None:
        stop = asyncio.Event()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    runner: asyncio.Task[None] | None = None
    http: web.AppRunner | None = None
    try:
        # The alert hooks, /healthz and /metrics (warroom's one HTTP server).
        http, _ = await start_http(bridge.app, settings)
        runner = await connect(bridge, secret)
        await bridge.app.start_scheduler()
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({runner, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if runner.done() and runner.exception() is not None:
            log.error("the Discord connection ended: %s", runner.exception())
            return 1
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await bridge.close()
        if runner is not None and not runner.done():
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
        if http is not None:
            await http.cleanup()
        await bridge.app.stop()
    return 0
