"""Timeline capture from the incident channel: messages, edits, deletions, reactions, joins."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.timeline import EventKind
from bot.markup import clean_user_text
from bot.service import cadence
from bot.service.base import Actor, Deps, Result
from storage import repository as repo
from storage.repository import Executor, IncidentKey

MAX_CAPTURED = 4000


def _clip(text: str) -> str:
    text = clean_user_text(text)
    return text if len(text) <= MAX_CAPTURED else text[:MAX_CAPTURED] + "…"


async def message_posted(
    tx: Executor,
    incident: IncidentKey,
    actor: Actor,
    *,
    message_id: str,
    text: str,
    thread_id: str | None,
) -> Result:
    await repo.insert_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.CHAT,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=_clip(text),
        message_id=message_id,
        data={"thread_id": thread_id} if thread_id else {},
    )
    await repo.add_participant(
        tx, incident_id=incident.id, user_id=actor.user.id, user_name=actor.user.name, at=actor.at
    )
    return Result()


async def message_edited(
    tx: Executor, incident: IncidentKey, actor: Actor, *, message_id: str, text: str
) -> Result:
    await repo.insert_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.CHAT_EDITED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=_clip(text),
        message_id=message_id,
    )
    return Result()


async def message_deleted(
    tx: AsyncSession, incident: IncidentKey, actor: Actor, *, message_id: str
) -> Result:
    for entry in await repo.timeline_for_message(
        tx, incident_id=incident.id, message_id=message_id
    ):
        if entry.kind == EventKind.CHAT:
            entry.data = {**entry.data, "deleted": True}
            tx.add(entry)
    await repo.insert_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.CHAT_DELETED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        message_id=message_id,
    )
    return Result()


async def mark_key_message(
    tx: AsyncSession,
    incident: IncidentKey,
    actor: Actor,
    *,
    message_id: str,
    on: bool,
    permalink: str | None = None,
) -> Result:
    """📌 on a message marks it as key on the timeline, with its original time, text and
    link (the platform's permalink, when it gave one)."""
    entries = await repo.timeline_for_message(tx, incident_id=incident.id, message_id=message_id)
    original = next((e for e in entries if e.kind == EventKind.CHAT), None)
    latest_edit = next((e for e in reversed(entries) if e.kind == EventKind.CHAT_EDITED), None)
    text = (latest_edit or original).text if original else ""
    data = {
        "original_at": original.at.isoformat() if original else None,
        "author_id": original.actor_id if original else None,
        "author_name": original.actor_name if original else None,
    }
    if permalink:
        data["permalink"] = permalink
    await repo.insert_timeline(
        tx,
        incident_id=incident.id,
        at=actor.at,
        kind=EventKind.PINNED if on else EventKind.UNPINNED,
        actor_id=actor.user.id,
        actor_name=actor.user.name,
        text=text,
        message_id=message_id,
        data=data,
    )
    return Result()


async def member_joined(tx: Executor, deps: Deps, incident: IncidentKey, actor: Actor) -> Result:
    added = await repo.add_participant(
        tx, incident_id=incident.id, user_id=actor.user.id, user_name=actor.user.name, at=actor.at
    )
    if added:
        await repo.insert_timeline(
            tx,
            incident_id=incident.id,
            at=actor.at,
            kind=EventKind.JOINED,
            actor_id=actor.user.id,
            actor_name=actor.user.name,
        )
        return Result(effects=[await cadence.read_in(deps, incident.id, actor.user.id)])
    return Result()
