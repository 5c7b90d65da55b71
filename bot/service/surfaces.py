"""The incident's faces on chat: the card, the announcement and the channel topic.

They are always rendered from the database after commit, so refreshing them is
idempotent and a missed refresh heals on the next change.

Two refreshes of one incident must not leave an older state showing: a refresh reads
the state, then makes chat calls that take a while, and another change (from this
process or another replica) may commit and refresh in between. So `sync`:

- runs one refresh of an incident at a time in this process (`Deps.surface_locks`), so
  here a refresh of an older state never lands after a newer one;
- after its chat calls return, reads the state again and sends what changed since, until
  what it last sent is what the database says. Whichever refresh's call lands last, on
  any replica, reads again afterwards and sends the newest state, so the card, the
  announcement and the topic end up matching the database.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from bot.port import Button, ButtonStyle, Capability, Field, MessageRef, RichMessage
from bot.service.base import Deps, Effect, load_view
from bot.views import IncidentView
from storage import repository as repo
from storage.tables import Incident

log = logging.getLogger("warroom.surfaces")

# Rounds of read, send, read again. Only a state that keeps changing while the chat
# calls are under way needs more than two; each of those changes has its own refresh.
MAX_ROUNDS = 20


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


class Face(StrEnum):
    CARD = "card"
    ANNOUNCEMENT = "announcement"
    TOPIC = "topic"


CARD, ANNOUNCEMENT, TOPIC = Face.CARD, Face.ANNOUNCEMENT, Face.TOPIC
ALL_FACES = frozenset(Face)


@dataclass(frozen=True, slots=True)
class Faces:
    """What the chat shows (or should show): None where there is nothing to update."""

    card: RichMessage | None = None
    announcement: RichMessage | None = None
    topic: str | None = None


def refresh(deps: Deps, incident_id: int) -> Effect:
    """Re-render the card, the announcement and the topic from the database."""
    return Effect(
        "refresh the incident card, announcement and topic", lambda: sync(deps, incident_id)
    )


async def sync(
    deps: Deps,
    incident_id: int,
    *,
    faces: Collection[Face] = ALL_FACES,
    shown: Faces = Faces(),
) -> None:
    """Bring `faces` up to date with the database; `shown`: what they already show
    (a card just posted), so it is not sent again."""
    async with deps.surface_locks.hold(incident_id):
        for _ in range(MAX_ROUNDS):
            current = await _render(deps, incident_id, faces)
            if current is None:
                return
            incident, wanted = current
            if not await _send(deps, incident, wanted, shown):
                return
            shown = wanted
        log.warning(
            "incident id %s kept changing during %d refresh rounds; its next change's "
            "refresh brings its card up to date",
            incident_id,
            MAX_ROUNDS,
        )


async def _render(
    deps: Deps, incident_id: int, faces: Collection[Face]
) -> tuple[Incident, Faces] | None:
    async with deps.db.reader() as tx:
        incident = await repo.incident_by_id(tx, incident_id=incident_id)
        if incident is None or not incident.channel_id:
            return None
        view = await load_view(tx, deps, incident)
    can = deps.port.capabilities
    updates = Capability.UPDATE_MESSAGE in can
    has_card = updates and bool(incident.card_message_id)
    announced = updates and bool(incident.announce_channel_id and incident.announce_message_id)
    return incident, Faces(
        card=card(deps, view) if Face.CARD in faces and has_card else None,
        announcement=(
            announcement(deps, view) if Face.ANNOUNCEMENT in faces and announced else None
        ),
        topic=topic(deps, view) if Face.TOPIC in faces and Capability.TOPIC in can else None,
    )


async def _send(deps: Deps, incident: Incident, wanted: Faces, shown: Faces) -> bool:
    """Send each face that differs from what is shown; False when none did."""
    port = deps.port
    sent = False
    if wanted.card is not None and wanted.card != shown.card:
        assert incident.channel_id and incident.card_message_id
        ref = MessageRef(incident.channel_id, incident.card_message_id)
        await port.update_message(ref=ref, message=wanted.card)
        sent = True
    if wanted.announcement is not None and wanted.announcement != shown.announcement:
        assert incident.announce_channel_id and incident.announce_message_id
        ref = MessageRef(incident.announce_channel_id, incident.announce_message_id)
        await port.update_message(ref=ref, message=wanted.announcement)
        sent = True
    if wanted.topic is not None and wanted.topic != shown.topic:
        assert incident.channel_id
        await port.set_topic(channel_id=incident.channel_id, topic=wanted.topic)
        sent = True
    return sent
