"""Two changes to one incident at once must leave its card, announcement and topic
showing the newest state, in one process and across two replicas.

`deescalate` and `status resolve` race: each commits, then refreshes the card, the
announcement and the topic from what it read. The losing interleaving is forced, not
hoped for: the platform holds the first refresh's card update (the older state) until
the second refresh's update has landed (or, in one process, waits behind it), then lets
it land last. What the chat shows afterwards must be the rendering of what the database
holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from adapters.console.app import build_console
from adapters.console.workspace import Workspace
from adapters.slack import render as slack_render
from adapters.slack.app import SlackBridge, build_slack
from adapters.slack.server import SlackConnection, connect
from bot.app import App
from bot.clock import ManualClock
from bot.events import CommandInvoked
from bot.port import ChannelRef, RichMessage, UserRef
from bot.service import surfaces
from bot.service.base import load_view
from storage import repository as repo
from storage.tables import Incident
from tests.conftest import make_settings
from tests.slack_fake import FakeSlack, Hang

TRIALS = 8
WITHIN = 60.0  # seconds: an upper bound for any one wait; only a hang takes this long


async def until(what: str, ready: Callable[[], bool]) -> None:
    """Wait for a condition of the platform (checked as the loop turns); fail naming it."""
    try:
        async with asyncio.timeout(WITHIN):
            # The conditions span the platform, the tasks and a lock's queue: no one
            # event covers them all, so they are looked at each time the loop turns.
            while not ready():  # noqa: ASYNC110
                await asyncio.sleep(0.001)
    except TimeoutError:
        raise AssertionError(f"waited {WITHIN} s for {what}") from None


@dataclass
class Held:
    """One card update the platform holds: `seen` once it arrived, `release` lets it land,
    `later()` counts the updates of that card that have landed since."""

    seen: asyncio.Event
    release: Callable[[], None]
    later: Callable[[], int]


@dataclass(frozen=True)
class Shown:
    card: Any
    announcement: Any
    topic: str


class Stage(Protocol):
    apps: list[App]

    async def declare(self, k: int) -> Incident: ...
    def hold_card(self, incident: Incident) -> Held: ...
    def command(self, text: str, incident: Incident, *, via: int) -> Awaitable[Any]: ...
    def finished(self) -> int: ...
    async def settle(self) -> None: ...
    def shown(self, incident: Incident) -> Shown: ...
    def as_shown(self, card: RichMessage, announcement: RichMessage, topic: str) -> Shown: ...


async def row(app: App, number: int) -> Incident:
    async with app.db.reader() as tx:
        incident = await repo.incident_by_number(tx, number=number)
    assert incident is not None and incident.id is not None
    return incident


async def race(stage: Stage, k: int, *, forced: bool) -> None:
    """One trial: INC-k declared, then `deescalate` (first app) and `status resolved`
    (last app) with the first card update that reaches the platform held back."""
    incident = await stage.declare(k)
    held = stage.hold_card(incident)
    finished = stage.finished()
    first = asyncio.ensure_future(stage.command("deescalate", incident, via=0))
    if forced:  # the deescalate's refresh has read its state and is on its way
        await asyncio.wait_for(held.seen.wait(), WITHIN)
    second = asyncio.ensure_future(stage.command("status resolved", incident, via=-1))
    await asyncio.wait_for(held.seen.wait(), WITHIN)
    deps = [app.bot.deps for app in stage.apps]
    await until(
        "another update of the card, or a refresh waiting for the held one",
        lambda: (
            held.later() > 0
            or any(d.surface_locks.waiting(incident.id) for d in deps)
            or stage.finished() > finished
        ),
    )
    held.release()  # the held (older) update lands last
    await asyncio.wait_for(asyncio.gather(first, second), WITHIN)
    await stage.settle()

    app = stage.apps[0]
    final = await row(app, incident.number)
    assert final.status == "resolved"
    # All at once, the resolve may come first: then the deescalate is refused.
    assert final.severity == "SEV3" or not forced
    async with app.db.reader() as tx:
        view = await load_view(tx, app.bot.deps, final)
    d = app.bot.deps
    wanted = stage.as_shown(
        surfaces.card(d, view), surfaces.announcement(d, view), surfaces.topic(d, view)
    )
    assert stage.shown(final) == wanted, f"INC-{k}: the chat shows an older state"


# --- the console platform ---------------------------------------------------------------


class Reordering(Workspace):
    """A console workspace that holds the next update of one message (`hold`)."""

    def __init__(self) -> None:
        super().__init__()
        self.target = ""
        self.seen, self.go, self.landed = asyncio.Event(), asyncio.Event(), 0

    def hold(self, message_id: str) -> Held:
        self.target, self.seen, self.go, self.landed = (
            message_id,
            asyncio.Event(),
            asyncio.Event(),
            0,
        )
        return Held(seen=self.seen, release=self.go.set, later=lambda: self.landed)

    async def arrive(self, method: str, target: str) -> None:
        if method != "update_message" or target != self.target:
            return
        if not self.seen.is_set():
            self.seen.set()
            await self.go.wait()
        else:
            self.landed += 1  # it lands as soon as this returns


class ConsoleStage:
    def __init__(self, apps: list[App], ws: Reordering) -> None:
        self.apps, self.ws = apps, ws
        self.keys = self.done = 0

    async def declare(self, k: int) -> Incident:
        await self.command(f"declare SEV2 Race {k}", None, via=0)
        return await row(self.apps[0], k)

    def hold_card(self, incident: Incident) -> Held:
        assert incident.card_message_id
        return self.ws.hold(incident.card_message_id)

    async def command(self, text: str, incident: Incident | None, *, via: int) -> Any:
        self.keys += 1
        channel = self.ws.channel_by_name("general") if incident is None else None
        where = ChannelRef(channel.id) if channel else ChannelRef(str(incident.channel_id))  # type: ignore[union-attr]
        await self.apps[via].bot.handle(
            CommandInvoked(
                key=f"race:{self.keys}", user=UserRef("UALICE", "alice"), channel=where, text=text
            )
        )
        self.done += 1

    def finished(self) -> int:
        """Commands handled to the end."""
        return self.done

    async def settle(self) -> None:
        pass

    def shown(self, incident: Incident) -> Shown:
        card = self.ws.message(str(incident.card_message_id))
        ann = self.ws.message(str(incident.announce_message_id))
        assert card is not None and ann is not None
        return Shown(card.rich, ann.rich, self.ws.channels[str(incident.channel_id)].topic)

    def as_shown(self, card: RichMessage, announcement: RichMessage, topic: str) -> Shown:
        return Shown(card, announcement, topic)


@pytest.fixture(params=[1, 2], ids=["one process", "two replicas"])
async def console_stage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """One app, or two (two engines, as two processes) on one database and one workspace."""
    ws = Reordering()
    settings = make_settings(tmp_path)
    apps = [
        (await build_console(settings, clock=ManualClock(), workspace=ws))[0]
        for _ in range(request.param)
    ]
    try:
        yield ConsoleStage(apps, ws)
    finally:
        for app in apps:
            await app.stop()


@pytest.mark.usefixtures("db_url")
@pytest.mark.parametrize("forced", [True, False], ids=["forced order", "all at once"])
async def test_console_card_and_topic_end_on_the_newest_state(console_stage: Any, forced: bool):
    for k in range(1, TRIALS + 1):
        await race(console_stage, k, forced=forced)


# --- Slack, through the real slack-bolt and slack-sdk ------------------------------------


class SlackStage:
    def __init__(self, fake: FakeSlack, bridges: list[SlackBridge], alice: str, general: str):
        self.fake, self.bridges, self.alice, self.general = fake, bridges, alice, general
        self.apps = [b.core for b in bridges]

    async def declare(self, k: int) -> Incident:
        await self.fake.send_envelope(
            "slash_commands",
            self.fake.slash_command(f"declare SEV2 Race {k}", self.alice, self.general),
        )
        await self.settle()
        return await row(self.apps[0], k)

    def hold_card(self, incident: Incident) -> Held:
        ts = incident.card_message_id
        hang: Hang = self.fake.hang("chat.update", match=lambda a: a.get("ts") == ts)
        before = len(self.fake.calls_to("chat.update"))

        def later() -> int:  # calls are recorded as they arrive, and handled at once
            calls = self.fake.calls_to("chat.update")[before:]
            return max(0, sum(1 for c in calls if c.args.get("ts") == ts) - 1)

        return Held(seen=hang.seen, release=lambda: self.fake.release(hang), later=later)

    async def command(self, text: str, incident: Incident, *, via: int) -> Any:
        payload = self.fake.slash_command(text, self.alice, str(incident.channel_id))
        await self.fake.send_envelope(
            "slash_commands", payload, connection=via % len(self.bridges), timeout_s=WITHIN
        )

    def finished(self) -> int:
        """Commands answered (only a refusal is answered here): until then, one may still
        update the card, or wait to."""
        return len(self.fake.responses)

    async def settle(self) -> None:
        for bridge in self.bridges:
            await bridge.idle()

    def shown(self, incident: Incident) -> Shown:
        card = self._message(str(incident.channel_id), str(incident.card_message_id))
        ann = self._message(str(incident.announce_channel_id), str(incident.announce_message_id))
        return Shown(card, ann, self.fake.topic(str(incident.channel_id)))

    def _message(self, channel: str, ts: str) -> Any:
        [found] = [m for m in self.fake.messages(channel) if m["ts"] == ts]
        return {"text": found["text"], "blocks": found["blocks"]}

    def as_shown(self, card: RichMessage, announcement: RichMessage, topic: str) -> Shown:
        return Shown(
            slack_render.render(card), slack_render.render(announcement), slack_render.topic(topic)
        )


@pytest.fixture(params=[1, 2], ids=["one process", "two replicas"])
async def slack_stage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """One bridge, or two (two Socket Mode connections and two engines, as two `warroom
    run` processes) on one database, against one fake Slack."""
    async with FakeSlack() as fake:
        alice = fake.add_user("alice")
        general = fake.add_channel("general", members=[alice])
        fake.add_channel("incidents", members=[alice])
        settings = make_settings(
            tmp_path,
            slack_bot_token="xoxb-test",
            slack_app_token="xapp-test",
            slack_api_url=fake.api_url,
        )
        bridges: list[SlackBridge] = []
        connections: list[SlackConnection] = []
        try:
            for _ in range(request.param):
                bridges.append(await build_slack(settings, clock=ManualClock()))
                connections.append(await connect(bridges[-1]))
                await fake.wait_connections(len(bridges), timeout_s=WITHIN)
            yield SlackStage(fake, bridges, alice, general)
        finally:
            for connection in connections:
                await connection.close()
            for bridge in bridges:
                await bridge.core.stop()


@pytest.mark.parametrize("forced", [True, False], ids=["forced order", "all at once"])
async def test_slack_card_and_topic_end_on_the_newest_state(slack_stage: Any, forced: bool):
    for k in range(1, TRIALS + 1):
        await race(slack_stage, k, forced=forced)
    slack_stage.fake.assert_clean()
