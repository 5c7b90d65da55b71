"""Wiring the console platform to the core: a seeded workspace, the app, a session."""

from __future__ import annotations

from adapters.console.port import ConsolePort
from adapters.console.render import render
from adapters.console.session import ConsoleSession
from adapters.console.workspace import Channel, Message, User, Workspace
from bot.app import App, build
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.port import RichMessage
from bot.service import surfaces
from bot.service.base import load_view
from storage import repository as repo
from storage.database import Database
from storage.tables import Incident, Participant

PEOPLE = ("alice", "bob", "carol", "dave", "erin", "oncall-leads")


def seed(ws: Workspace, settings: Settings, app: App | None = None) -> None:
    """People and the standing channels a new workspace starts with."""
    for name in PEOPLE:
        ws.add_user(name)
    names = {"general", settings.announce_channel}
    if app is not None:
        names |= {p.announce_channel for p in app.playbooks.by_name.values() if p.announce_channel}
    for name in sorted(names):
        if ws.channel_by_name(name) is None:
            ws.add_channel(name, channel_id=Workspace.standing_id(name))


async def restore(ws: Workspace, app: App) -> int:
    """Carry what the database remembers into a new workspace.

    Every id the database holds for console incidents, whatever their status, is
    reserved, so no new channel or message can take one. The channels of incidents that
    are not closed come back with their members, topic and pinned card (its buttons
    work), and their announcement, all rendered from the database."""
    deps = app.bot.deps
    count = 0
    async with app.db.reader() as tx:
        incidents = await repo.incidents_on(tx, platform=ConsolePort.platform)
        for incident in incidents:
            ws.reserve(
                [
                    incident.channel_id,
                    incident.announce_channel_id,
                    incident.card_message_id,
                    incident.announce_message_id,
                ]
            )
        ws.reserve([await repo.highest_message_id(tx, platform=ConsolePort.platform)])
        for incident in incidents:
            if incident.status == "closed" or not incident.channel_id:
                continue
            if incident.channel_id in ws.channels or incident.channel_name is None:
                continue
            assert incident.id is not None
            view = await load_view(tx, deps, incident)
            members = await repo.participants(tx, incident_id=incident.id)
            channel = ws.add_channel(
                incident.channel_name, private=incident.private, channel_id=incident.channel_id
            )
            channel.members |= {Workspace.BOT_ID, *(_member(ws, p) for p in members)}
            channel.topic = surfaces.topic(deps, view)
            channel.log.append("(restored from an earlier console session)")
            if incident.card_message_id:
                card = surfaces.card(deps, view)
                _again(ws, channel, incident.card_message_id, card, incident).pinned = True
            announced = ws.channels.get(incident.announce_channel_id or "")
            if announced is not None and incident.announce_message_id:
                message = surfaces.announcement(deps, view)
                _again(ws, announced, incident.announce_message_id, message, incident)
            count += 1
    return count


def _member(ws: Workspace, participant: Participant) -> str:
    if participant.user_id not in ws.users:
        name = participant.user_name or participant.user_id
        ws.users[participant.user_id] = User(id=participant.user_id, name=name)
    return participant.user_id


def _again(
    ws: Workspace, channel: Channel, message_id: str, message: RichMessage, incident: Incident
) -> Message:
    """A message of an earlier run, under its old id, as the database renders it now."""
    return ws.add_message(
        channel,
        Workspace.BOT_ID,
        render(message, ws),
        incident.declared_at,
        rich=message,
        message_id=message_id,
    )


async def build_console(
    settings: Settings,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    workspace: Workspace | None = None,
) -> tuple[App, ConsoleSession]:
    clock = clock or SystemClock()
    ws = workspace or Workspace()
    port = ConsolePort(ws, clock)
    app = await build(settings, port=port, clock=clock, db=db)
    seed(ws, settings, app)
    await restore(ws, app)
    session = ConsoleSession(
        ws, app.bot.handle, clock, apology=app.bot.apology, command=settings.command_name
    )
    return app, session
