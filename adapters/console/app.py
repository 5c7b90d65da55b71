"""Wiring the console platform to the core: a seeded workspace, the app, a session."""

from __future__ import annotations

from adapters.console.port import ConsolePort
from adapters.console.session import ConsoleSession
from adapters.console.workspace import Workspace
from bot.app import App, build
from bot.clock import Clock, SystemClock
from bot.config import Settings
from storage import repository as repo
from storage.database import Database

PEOPLE = ("alice", "bob", "carol", "dave", "erin", "oncall-leads")


def seed(ws: Workspace, settings: Settings, app: App | None = None) -> None:
    """People and the channels a new workspace starts with."""
    for name in PEOPLE:
        ws.add_user(name)
    names = {"general", settings.announce_channel}
    if app is not None:
        names |= {p.announce_channel for p in app.playbooks.by_name.values() if p.announce_channel}
    for name in sorted(names):
        if ws.channel_by_name(name) is None:
            ws.add_channel(name)


async def restore(ws: Workspace, app: App) -> int:
    """Bring back the channels of open console incidents kept in the database."""
    count = 0
    async with app.db.reader() as tx:
        for incident in await repo.open_incidents(tx):
            if incident.platform != "console" or not incident.channel_id:
                continue
            if incident.channel_id in ws.channels or incident.channel_name is None:
                continue
            channel = ws.add_channel(
                incident.channel_name, private=incident.private, channel_id=incident.channel_id
            )
            channel.members.add(Workspace.BOT_ID)
            channel.log.append("(restored from an earlier console session)")
            if incident.card_message_id:
                ws.add_message(
                    channel,
                    Workspace.BOT_ID,
                    "(incident card)",
                    incident.declared_at,
                    message_id=incident.card_message_id,
                )
            count += 1
    return count


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
    session = ConsoleSession(ws, app.bot.handle, clock, command=settings.command_name)
    return app, session
