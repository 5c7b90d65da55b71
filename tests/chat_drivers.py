"""One small interface over two chat platforms, for the contract tests (`test_contract.py`).

- `ConsoleDriver`: the console platform (`adapters/console`), typed through ConsoleSession.
- `DiscordDriver`: the real Discord adapter (`adapters/discord/app.py`: discord.py) on the
  loopback `FakeDiscord` (REST + gateway). Commands are INTERACTION_CREATE for
  `/incident text:<…>`, chat is MESSAGE_CREATE; private replies are ephemeral follow-ups and
  DMs; channel "members" are the people given their own permission overwrite (Discord's
  invite). Discord has no channel-join event, so `join` is not supported.
- `SlackDriver`: the real Slack adapter (`adapters/slack/app.py`: slack_bolt + slack_sdk)
  connected in Socket Mode to the loopback `FakeSlack`. Commands are slash-command
  envelopes, chat is Events API `message` events, joins are `member_joined_channel`;
  the joins Slack sends after the bot's own `conversations.invite` are delivered too,
  as the console delivers the joins its invites cause.

People (`PEOPLE`) are named the same on both; drivers map names to platform ids. Both run
on a `ManualClock` and a fresh SQLite file, and read the same tables through `app.db`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import discord
import yarl

from adapters.console.app import build_console
from adapters.console.render import render
from adapters.console.session import ConsoleSession
from adapters.discord import server as discord_server
from adapters.discord.app import DiscordBridge, build_discord
from adapters.slack.app import SlackBridge, build_slack
from adapters.slack.server import SlackConnection, connect
from bot.app import App
from bot.clock import ManualClock
from bot.events import InboundEvent
from bot.port import Outcome
from storage import repository as repo
from storage.tables import Incident, Task, TimelineEntry
from tests.conftest import make_settings
from tests.discord_fake import FakeDiscord
from tests.slack_fake import FakeSlack
from tests.waiting import WITHIN

PEOPLE = ("alice", "bob", "carol", "dave", "erin")
COMMAND = "/incident"


class Driver(Protocol):
    platform: str
    app: App

    async def send(self, text: str, *, user: str, channel: str) -> None:
        """Type a line in a channel: `/incident …` is a command, anything else chat."""
        ...

    async def join(self, user: str, channel: str) -> None: ...

    async def redeliver(self) -> None:
        """Deliver the last thing sent again, as the platform would on a retry."""
        ...

    def channel_messages(self, name: str) -> list[str]: ...

    def private_replies(self, user: str) -> list[str]: ...

    def members(self, name: str) -> set[str]: ...

    def topic(self, name: str) -> str: ...

    def pinned(self, name: str) -> list[str]: ...

    def files(self, name: str) -> list[tuple[str, bytes]]: ...


# --- reading the database (the same on every platform) -----------------------------------


async def incident(app: App, number: int = 1) -> Incident:
    async with app.db.reader() as tx:
        row = await repo.incident_by_number(tx, number=number)
    assert row is not None, f"no INC-{number} in the database"
    return row


async def roles(app: App, number: int = 1) -> dict[str, str]:
    inc = await incident(app, number)
    async with app.db.reader() as tx:
        found = await repo.roles(tx, incident_id=inc.id or 0)
    return {k: r.user_name for k, r in found.items()}


async def timeline(app: App, number: int = 1) -> list[TimelineEntry]:
    inc = await incident(app, number)
    async with app.db.reader() as tx:
        return list(await repo.timeline(tx, incident_id=inc.id or 0))


async def tasks(app: App, number: int = 1) -> list[Task]:
    inc = await incident(app, number)
    async with app.db.reader() as tx:
        return list(await repo.tasks(tx, incident_id=inc.id or 0))


# --- the console -------------------------------------------------------------------------


class ConsoleDriver:
    platform = "console"

    def __init__(self, app: App, session: ConsoleSession) -> None:
        self.app, self.session, self.ws = app, session, session.ws
        self.delivered: list[InboundEvent] = []
        self._last: InboundEvent | None = None
        handle = session.handle

        async def recording(event: InboundEvent) -> Outcome:
            self.delivered.append(event)
            return await handle(event)

        session.handle = recording

    def _uid(self, user: str) -> str:
        found = self.ws.user_by_name(user)
        assert found is not None, f"no console user {user}"
        return found.id

    async def send(self, text: str, *, user: str, channel: str) -> None:
        self.session.as_user(user)
        self.session.go(channel)
        first = len(self.delivered)
        await self.session.send(text)
        self._last = self.delivered[first]

    async def join(self, user: str, channel: str) -> None:
        self.session.as_user(user)
        await self.session.join(channel)

    async def redeliver(self) -> None:
        assert self._last is not None, "nothing sent yet"
        await self.session.deliver(self._last)

    def _channel(self, name: str) -> Any:
        found = self.ws.channel_by_name(name)
        assert found is not None, f"no console channel #{name}"
        return found

    def channel_messages(self, name: str) -> list[str]:
        return [m.text for m in self._channel(name).messages if not m.deleted]

    def private_replies(self, user: str) -> list[str]:
        return [render(m, self.ws) for m in self.ws.private_for(self._uid(user))]

    def members(self, name: str) -> set[str]:
        return {self.ws.users[u].name for u in self._channel(name).members} - {"warroom"}

    def topic(self, name: str) -> str:
        return str(self._channel(name).topic)

    def pinned(self, name: str) -> list[str]:
        return [m.text for m in self._channel(name).messages if m.pinned]

    def files(self, name: str) -> list[tuple[str, bytes]]:
        cid = self._channel(name).id
        return [(f.filename, f.content) for f in self.ws.files if f.channel_id == cid]


@asynccontextmanager
async def console_driver(tmp_path: Path) -> AsyncIterator[ConsoleDriver]:
    app, session = await build_console(make_settings(tmp_path), clock=ManualClock())
    try:
        yield ConsoleDriver(app, session)
    finally:
        await app.stop()


# --- Slack -------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """What Slack does to typed text before sending it: `& < >` become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(message: Any) -> str:
    """A Slack message's visible text: `text` plus every text inside its blocks, unescaped."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: message.get(k) for k in ("text", "blocks", "attachments")})
    return html.unescape("\n".join(found))


class SlackDriver:
    platform = "slack"

    def __init__(self, fake: FakeSlack, bridge: SlackBridge, ids: dict[str, str]) -> None:
        self.fake, self.bridge, self.app = fake, bridge, bridge.core
        self.ids = ids
        self.names = {v: k for k, v in ids.items()}
        self.private: list[tuple[str, dict[str, Any]]] = []  # (user id, response_url body)
        self._last: tuple[str, dict[str, Any], str] | None = None

    def cid(self, name: str) -> str:
        found = self.fake.channel_id(name)
        assert found is not None, f"no Slack channel #{name}"
        return found

    async def envelope(
        self, kind: str, payload: dict[str, Any], *, user: str, retry: int = 0
    ) -> None:
        """One envelope over Socket Mode; then the joins Slack sends after invites."""
        self._last = (kind, payload, user)
        before = len(self.fake.responses)
        await self.fake.send_envelope(
            kind,
            payload,
            accepts_response_payload=kind == "slash_commands",
            retry_attempt=retry,
        )
        await self.bridge.idle()
        self.private += [(user, r) for r in self.fake.responses[before:]]
        while self.fake.events:
            event = self.fake.events.pop(0)
            await self.fake.send_envelope("events_api", self.fake.event_callback(event))
            await self.bridge.idle()

    async def event(self, event: dict[str, Any], *, user: str) -> dict[str, Any]:
        payload = self.fake.event_callback(event)
        await self.envelope("events_api", payload, user=user)
        return payload

    async def send(self, text: str, *, user: str, channel: str) -> None:
        uid, cid = self.ids[user], self.cid(channel)
        if text == COMMAND or text.startswith(COMMAND + " "):
            typed = slack_escape(text[len(COMMAND) :].strip())
            await self.envelope(
                "slash_commands", self.fake.slash_command(typed, uid, cid), user=uid
            )
        else:
            await self.event(self.fake.say(cid, uid, slack_escape(text)), user=uid)

    async def join(self, user: str, channel: str) -> None:
        uid = self.ids[user]
        await self.event(self.fake.join(self.cid(channel), uid), user=uid)

    async def redeliver(self) -> None:
        assert self._last is not None, "nothing sent yet"
        kind, payload, user = self._last
        await self.envelope(kind, payload, user=user, retry=1 if kind == "events_api" else 0)

    def channel_messages(self, name: str) -> list[str]:
        return [plain(m) for m in self.fake.messages(self.cid(name))]

    def private_replies(self, user: str) -> list[str]:
        uid = self.ids[user]
        found = [plain(body) for u, body in self.private if u == uid]
        found += [plain(e) for e in self.fake.ephemerals if e["user"] == uid]
        with contextlib.suppress(KeyError):  # the bot's DM with them, if there is one
            found += [plain(m) for m in self.fake.messages(uid)]
        return found

    def members(self, name: str) -> set[str]:
        return {self.names[u] for u in self.fake.members(self.cid(name)) if u in self.names}

    def topic(self, name: str) -> str:
        return html.unescape(self.fake.topic(self.cid(name)))

    def pinned(self, name: str) -> list[str]:
        cid = self.cid(name)
        pins = set(self.fake.pins(cid))
        return [plain(m) for m in self.fake.messages(cid) if m["ts"] in pins]

    def files(self, name: str) -> list[tuple[str, bytes]]:
        return [(filename, data) for _title, filename, data in self.fake.files(self.cid(name))]


@asynccontextmanager
async def slack_driver(tmp_path: Path, **settings: Any) -> AsyncIterator[SlackDriver]:
    clock = ManualClock()
    async with FakeSlack() as fake:
        fake.clock = lambda: clock.now().timestamp()
        ids = {name: fake.add_user(name) for name in PEOPLE}
        everyone = list(ids.values())
        fake.add_channel("general", members=everyone)
        fake.add_channel("incidents", members=everyone)
        bridge = await build_slack(
            make_settings(
                tmp_path,
                slack_bot_token=fake.bot_token,
                slack_app_token=fake.app_token,
                slack_api_url=fake.api_url,
                **settings,
            ),
            clock=clock,
        )
        connection: SlackConnection | None = None
        try:
            connection = await connect(bridge)
            await fake.wait_connected()
            yield SlackDriver(fake, bridge, ids)
        finally:
            if connection is not None:
                await connection.close()
            await bridge.core.stop()


# --- Discord -----------------------------------------------------------------------------

VIEW_CHANNEL = 1 << 10


def discord_text(message: Any) -> str:
    """A Discord message's visible text: content, then each embed's title, description,
    fields and footer."""
    found = [str(message.get("content") or "")]
    for em in message.get("embeds") or []:
        found += [str(em.get("title") or ""), str(em.get("description") or "")]
        for f in em.get("fields") or []:
            found += [str(f.get("name") or ""), str(f.get("value") or "")]
        found.append(str((em.get("footer") or {}).get("text") or ""))
    return "\n".join(t for t in found if t)


def discord_busy() -> bool:
    """Is discord.py still running an event handler or an app command?"""
    return any(
        not t.done() and t.get_name().startswith(("discord.py: ", "CommandTree-invoker"))
        for t in asyncio.all_tasks()
    )


async def discord_idle(fake: FakeDiscord, bridge: DiscordBridge, within: float = WITHIN) -> None:
    """Wait until the client has read every gateway event sent and handled them all."""
    loop = asyncio.get_running_loop()
    deadline, quiet = loop.time() + within, 0
    while quiet < 3:
        assert loop.time() < deadline, "the Discord bridge never went idle"
        await asyncio.sleep(0.01)
        seen = bridge.ws.sequence if bridge.ws is not None else None
        caught_up = fake._socket is None or seen == fake._seq
        quiet = quiet + 1 if caught_up and not discord_busy() else 0


class DiscordDriver:
    platform = "discord"

    def __init__(self, fake: FakeDiscord, bridge: DiscordBridge, ids: dict[str, str]) -> None:
        self.fake, self.bridge, self.app = fake, bridge, bridge.app
        self.ids = ids
        self.names = {v: k for k, v in ids.items()}
        self._last: tuple[str, dict[str, Any]] | None = None

    def text_channel(self, name: str) -> dict[str, Any]:
        """The text channel named so (a category may share its name)."""
        found = [c for c in self.fake.channels.values() if c["type"] == 0 and c["name"] == name]
        assert len(found) == 1, f"{len(found)} Discord text channels named #{name}"
        return found[0]

    def cid(self, name: str) -> str:
        return str(self.text_channel(name)["id"])

    async def idle(self) -> None:
        await discord_idle(self.fake, self.bridge)

    async def send(self, text: str, *, user: str, channel: str) -> None:
        uid, cid = self.ids[user], self.cid(channel)
        if text == COMMAND or text.startswith(COMMAND + " "):
            payload = await self.fake.interaction(
                2, self.command(text[len(COMMAND) :].strip()), user_id=uid, channel_id=cid
            )
            self._last = ("INTERACTION_CREATE", payload)
        else:
            mid = await self.fake.message_create(cid, uid, text)
            [sent] = [m for m in self.fake.messages(cid) if m["id"] == mid]
            self._last = ("MESSAGE_CREATE", self.fake._visible(sent))
        await self.idle()

    def command(self, text: str) -> dict[str, Any]:
        """`/incident run text:<text>` as Discord sends it (the group's free-text
        subcommand); a bare `/incident` is `/incident declare` with no options."""
        [known] = [c for c in self.fake.commands if c.get("name") == "incident"]
        sub: dict[str, Any] = {"name": "run", "type": 1, "options": []}
        if text:
            sub["options"] = [{"name": "text", "type": 3, "value": text}]
        else:
            sub["name"] = "declare"
        return {
            "id": known["id"],
            "name": "incident",
            "type": 1,
            "guild_id": self.fake.guild_id,
            "options": [sub],
        }

    async def join(self, user: str, channel: str) -> None:
        raise NotImplementedError("Discord has no channel-join event")

    async def redeliver(self) -> None:
        """The same gateway event again, as a replay after a RESUME would send it (Discord
        refuses a second acknowledgement of an interaction)."""
        assert self._last is not None, "nothing sent yet"
        event, payload = self._last
        await self.fake.dispatch(event, payload)
        await self.idle()

    def channel_messages(self, name: str) -> list[str]:
        return [discord_text(m) for m in self.fake.messages(self.cid(name))]

    def private_replies(self, user: str) -> list[str]:
        uid = self.ids[user]
        found = [
            discord_text(f["message"])
            for f in self.fake.followups
            if self.fake.interactions[f["token"]]["member"]["user"]["id"] == uid
        ]
        for chan in self.fake.channels.values():
            if chan["type"] == 1 and chan["recipients"][0]["id"] == uid:
                found += [discord_text(m) for m in self.fake.messages(chan["id"])]
        return found

    def members(self, name: str) -> set[str]:
        chan = self.text_channel(name)
        return {
            self.names[o["id"]]
            for o in chan["permission_overwrites"]
            if o["type"] == 1 and int(o["allow"]) & VIEW_CHANNEL and o["id"] in self.names
        }

    def topic(self, name: str) -> str:
        return str(self.text_channel(name).get("topic") or "")

    def pinned(self, name: str) -> list[str]:
        return [discord_text(m) for m in self.fake.pins(self.cid(name))]

    def files(self, name: str) -> list[tuple[str, bytes]]:
        return self.fake.files(self.cid(name))


def discord_settings(tmp_path: Path, fake: FakeDiscord, **settings: Any) -> Any:
    """Settings for the fake: its URLs, the token "test-token" (the fake's default) and its
    first guild, unless `settings` say otherwise."""
    values: dict[str, Any] = {
        "discord_token": "test-token",
        "discord_guild_ids": fake.guild_id,
        "discord_api_url": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
        "http_port": 0,  # `server.run` also serves HTTP: any free port
    }
    return make_settings(tmp_path, **{**values, **settings})


@asynccontextmanager
async def discord_bridge(
    settings: Any, fake: FakeDiscord, clock: ManualClock
) -> AsyncIterator[DiscordBridge]:
    """A connected bridge (READY, commands registered); closed and stopped on exit."""
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord_server.point_at(settings)
    bridge = await build_discord(settings, clock=clock)
    runner: asyncio.Task[None] | None = None
    try:
        runner = await discord_server.connect(bridge, "test-token")
        await discord_idle(fake, bridge)
        yield bridge
    finally:
        await bridge.close()
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
        await bridge.app.stop()
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


@asynccontextmanager
async def discord_driver(tmp_path: Path, **settings: Any) -> AsyncIterator[DiscordDriver]:
    clock = ManualClock()
    async with FakeDiscord() as fake:
        ids = {name: fake.add_member(name) for name in PEOPLE}
        fake.add_channel("general")
        fake.add_channel("incidents")
        config = discord_settings(tmp_path, fake, **settings)
        async with discord_bridge(config, fake, clock) as bridge:
            yield DiscordDriver(fake, bridge, ids)


@asynccontextmanager
async def driver(platform: str, tmp_path: Path) -> AsyncIterator[Driver]:
    if platform == "console":
        async with console_driver(tmp_path) as c:
            yield c
    elif platform == "discord":
        async with discord_driver(tmp_path) as d:
            yield d
    else:
        async with slack_driver(tmp_path) as s:
            yield s
