"""One small interface over two chat platforms, for the contract tests (`test_contract.py`).

- `ConsoleDriver`: the console platform (`adapters/console`), typed through ConsoleSession.
- `SlackDriver`: the real Slack adapter (`adapters/slack/app.py`: slack_bolt + slack_sdk)
  connected in Socket Mode to the loopback `FakeSlack`. Commands are slash-command
  envelopes, chat is Events API `message` events, joins are `member_joined_channel`;
  the joins Slack sends after the bot's own `conversations.invite` are delivered too,
  as the console delivers the joins its invites cause.

People (`PEOPLE`) are named the same on both; drivers map names to platform ids. Both run
on a `ManualClock` and a fresh SQLite file, and read the same tables through `app.db`.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from adapters.console.app import build_console
from adapters.console.render import render
from adapters.console.session import ConsoleSession
from adapters.slack.app import SlackBridge, build_slack
from adapters.slack.server import SlackConnection, connect
from bot.app import App
from bot.clock import ManualClock
from bot.events import InboundEvent
from bot.port import Outcome
from storage import repository as repo
from storage.tables import Incident, Task, TimelineEntry
from tests.conftest import make_settings
from tests.slack_fake import FakeSlack

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


@asynccontextmanager
async def driver(platform: str, tmp_path: Path) -> AsyncIterator[Driver]:
    if platform == "console":
        async with console_driver(tmp_path) as c:
            yield c
    else:
        async with slack_driver(tmp_path) as s:
            yield s
