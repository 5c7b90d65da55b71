"""The incident's faces on chat: the card, the announcement and the channel topic.

They are always rendered from the database after commit, so refreshing them is
idempotent and a missed refresh heals on the next change.
"""

from __future__ import annotations

from bot.port import Button, ButtonStyle, Capability, Field, MessageRef, RichMessage
from bot.service.base import Deps, Effect, load_view
from bot.views import IncidentView
from storage import repository as repo


def card(deps: Deps, view: IncidentView) -> RichMessage:
    sev = deps.severities.find(view.severity)
    fields = [
        Field("Severity", f"{view.severity} ({sev.label})" if sev else view.severity),
        Field("Status", view.status),
    ]
    if view.impact and view.urgency:
        fields.append(Field("Impact × urgency", f"{view.impact} × {view.urgency}"))
    for role in view.roles:
        fields.append(Field(role.label, deps.renderer.env.filters["mention"](role)))
    value = str(view.number)
    buttons: tuple[Button, ...] = ()
    if view.status in ("investigating", "identified", "monitoring"):
        buttons = (
            Button("Take commander", "incident.take_commander", value),
            Button("Take comms", "incident.take_comms", value),
            Button("Post update", "incident.post_update", value, ButtonStyle.PRIMARY),
            Button("Resolve", "incident.resolve", value, ButtonStyle.DANGER),
        )
    pb = deps.playbooks.by_name.get(view.playbook)
    return deps.renderer.message(
        "card",
        incident=view,
        checklist=pb.checklist if pb else [],
        fields=tuple(fields),
        buttons=buttons,
        colour=sev.colour if sev else "",
    )


def announcement(deps: Deps, view: IncidentView) -> RichMessage:
    sev = deps.severities.find(view.severity)
    colour = "#12b76a" if view.status in ("resolved", "closed") else (sev.colour if sev else "")
    return deps.renderer.message(
        "announcement",
        incident=view,
        fields=(Field("Severity", view.severity), Field("Status", view.status)),
        colour=colour,
    )


def topic(deps: Deps, view: IncidentView) -> str:
    return deps.renderer.text("topic.j2", incident=view)


def refresh(deps: Deps, incident_id: int) -> Effect:
    """Re-render the card, the announcement and the topic from the database."""

    async def run() -> None:
        async with deps.db.reader() as tx:
            incident = await repo.incident_by_id(tx, incident_id=incident_id)
            if incident is None or not incident.channel_id:
                return
            view = await load_view(tx, deps, incident)
        port = deps.port
        if incident.card_message_id and Capability.UPDATE_MESSAGE in port.capabilities:
            await port.update_message(
                ref=MessageRef(incident.channel_id, incident.card_message_id),
                message=card(deps, view),
            )
        if (
            incident.announce_channel_id
            and incident.announce_message_id
            and Capability.UPDATE_MESSAGE in port.capabilities
        ):
            await port.update_message(
                ref=MessageRef(incident.announce_channel_id, incident.announce_message_id),
                message=announcement(deps, view),
            )
        if Capability.TOPIC in port.capabilities:
            await port.set_topic(channel_id=incident.channel_id, topic=topic(deps, view))

    return Effect("refresh the incident card, announcement and topic", run)
