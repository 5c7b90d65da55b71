"""Small effect builders shared by the use cases."""

from __future__ import annotations

from bot.port import Capability, RichMessage
from bot.service.base import Deps, Effect
from storage.tables import Incident


def post(deps: Deps, incident: Incident, message: RichMessage, what: str) -> Effect:
    channel_id = incident.channel_id

    async def run() -> None:
        if channel_id:
            await deps.port.post_message(channel_id=channel_id, message=message)

    return Effect(what, run)


def broadcast(deps: Deps, incident: Incident, message: RichMessage, what: str) -> Effect:
    """Post to the announcement channel, unless the incident is private or a drill."""
    channel_id = incident.announce_channel_id
    quiet = incident.private or incident.drill

    async def run() -> None:
        if channel_id and not quiet:
            await deps.port.post_message(channel_id=channel_id, message=message)

    return Effect(what, run)


def invite(deps: Deps, incident: Incident, user_ids: list[str]) -> Effect:
    channel_id = incident.channel_id

    async def run() -> None:
        if channel_id and user_ids and Capability.INVITE in deps.port.capabilities:
            await deps.port.invite(channel_id=channel_id, user_ids=user_ids)

    return Effect("invite " + ", ".join(user_ids), run)
