"""Spreading the word once the incident channel exists: the card, invitations, topic
and announcement.

Declare (`bot/service/declare.py`) runs these after opening the channel; recovery
(`bot/service/recovery.py`) runs what a crash left undone. Each is its own effect: they
go out together (`EffectRunner.run_together`), each retried and reported on its own.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from bot.domain.timeline import EventKind
from bot.port import Capability, ChannelRef, ChatError, MessageRef
from bot.service import surfaces
from bot.service.base import Actor, Deps, Effect, load_view
from bot.service.surfaces import ANNOUNCEMENT, CARD, TOPIC, Faces
from bot.views import IncidentView
from storage import repository as repo
from storage.tables import Incident

if TYPE_CHECKING:
    from bot.service.declare import Plan


def spread_word(
    deps: Deps,
    incident_id: int,
    channel: ChannelRef,
    p: Plan,
    actor: Actor,
    done: Collection[str] = (),
) -> list[Effect]:
    """Card (posted, then pinned), invitations, topic and announcement: each its own effect.

    `done`: timeline kinds already recorded (a resumed declare): a posted card is only
    pinned again (pinning is idempotent), invitations and the announcement are not
    repeated. The topic is always set: setting it twice is harmless."""
    port = deps.port
    declarer = [] if actor.system else [actor.user]
    people = {u.id: u for u in [*declarer, *p.roles.values(), *p.responders]}
    invitees = sorted(people)
    names = [people[i].label for i in invitees]

    async def view() -> tuple[Incident, IncidentView]:
        async with deps.db.reader() as tx:
            row = await repo.incident_by_id(tx, incident_id=incident_id)
            assert row is not None
            return row, await load_view(tx, deps, row)

    async def pin_card() -> None:
        row, _ = await view()
        if row.card_message_id and Capability.PIN in port.capabilities:
            await port.pin(ref=MessageRef(channel_id=channel.id, id=row.card_message_id))

    async def post_card() -> None:
        _, v = await view()
        posted = surfaces.card(deps, v)
        ref = await port.post_message(channel_id=channel.id, message=posted)
        async with deps.db.transaction() as tx:
            row = await repo.incident_by_id(tx, incident_id=incident_id)
            assert row is not None
            row.card_message_id = ref.id
            repo.add_timeline(
                tx,
                incident_id=incident_id,
                at=deps.clock.now(),
                kind=EventKind.CARD_POSTED,
                message_id=ref.id,
                text="incident card posted",
            )
        if Capability.PIN in port.capabilities:
            await port.pin(ref=ref)
        # A change committed while the card was on its way found no card to refresh.
        await surfaces.sync(deps, incident_id, faces=[CARD], shown=Faces(card=posted))

    async def invite() -> None:
        await port.invite(channel_id=channel.id, user_ids=invitees)
        async with deps.db.transaction() as tx:
            repo.add_timeline(
                tx,
                incident_id=incident_id,
                at=deps.clock.now(),
                kind=EventKind.INVITED,
                text=", ".join(names),
                data={"user_ids": invitees, "user_names": names},
            )

    async def set_topic() -> None:  # in turn with any refresh, so the newest state wins
        await surfaces.sync(deps, incident_id, faces=[TOPIC])

    async def announce() -> None:
        row, v = await view()
        name = p.playbook.announce_channel or deps.options.announce_channel
        if row.private or row.drill or row.announce_message_id or not name:
            return
        target = await port.find_channel(name=name)
        if target is None:
            raise ChatError(f"the announcement channel #{name} does not exist")
        posted = surfaces.announcement(deps, v)
        ref = await port.post_message(channel_id=target.id, message=posted)
        async with deps.db.transaction() as tx:
            row2 = await repo.incident_by_id(tx, incident_id=incident_id)
            assert row2 is not None
            row2.announce_channel_id, row2.announce_message_id = ref.channel_id, ref.id
            repo.add_timeline(
                tx,
                incident_id=incident_id,
                at=deps.clock.now(),
                kind=EventKind.ANNOUNCED,
                text=f"#{name}",
                data={"channel_id": ref.channel_id, "message_id": ref.id},
            )
        shown = Faces(announcement=posted)
        await surfaces.sync(deps, incident_id, faces=[ANNOUNCEMENT], shown=shown)

    if EventKind.CARD_POSTED in done:
        effects = [Effect("pin the incident card", pin_card)]
    else:
        effects = [Effect("post and pin the incident card", post_card)]
    if Capability.INVITE in port.capabilities and invitees and EventKind.INVITED not in done:
        effects.append(Effect("invite the responders", invite))
    if Capability.TOPIC in port.capabilities:
        effects.append(Effect("set the channel topic", set_topic))
    if EventKind.ANNOUNCED not in done:
        effects.append(Effect("announce the incident", announce))
    return effects
