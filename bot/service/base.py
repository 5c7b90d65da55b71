"""What every use case needs: dependencies, the acting context and the result type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.domain.severity import SeverityScale
from bot.errors import UserError
from bot.locks import KeyedLocks
from bot.metrics import Metrics
from bot.playbook import Playbook
from bot.playbooks import PlaybookSet
from bot.port import ChannelRef, ChatPort, RichMessage, UserRef
from bot.render import Renderer
from bot.sanitize import clean_value
from bot.summaries import ExtractiveSummarizer, Summarizer
from bot.views import IncidentView, build_view
from storage import repository as repo
from storage.database import Database
from storage.tables import Incident

if TYPE_CHECKING:
    from bot.effects import EffectRunner


@dataclass(frozen=True, slots=True)
class Options:
    command_name: str = "incident"
    announce_channel: str = "incidents"
    timezone: str = "UTC"


@dataclass(slots=True)
class Deps:
    port: ChatPort
    renderer: Renderer
    playbooks: PlaybookSet
    severities: SeverityScale
    clock: Clock
    db: Database
    options: Options = field(default_factory=Options)
    # How summaries and read-ins are written; a language-model backend would plug in here.
    summarizer: Summarizer = field(default_factory=ExtractiveSummarizer)
    metrics: Metrics = field(default_factory=Metrics)
    # One incident's card, announcement and topic are refreshed one at a time here.
    surface_locks: KeyedLocks = field(default_factory=KeyedLocks)

    def playbook_for(self, incident: Incident) -> Playbook | None:
        return self.playbooks.by_name.get(incident.playbook)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, where, and when."""

    user: UserRef
    channel: ChannelRef
    at: datetime
    # A monitoring source, not a person: it takes no role and is not invited.
    system: bool = False


@dataclass(slots=True)
class Effect:
    """A chat-platform call to make after commit. `what` names it in failure reports."""

    what: str
    run: Callable[[], Awaitable[Any]]


@dataclass(slots=True)
class Result:
    reply: RichMessage | None = None
    effects: list[Effect] = field(default_factory=list)
    # A post-commit step whose return value replaces `reply` (declare needs the channel).
    then: Callable[[EffectRunner], Awaitable[RichMessage | None]] | None = None
    incident_id: int | None = None
    incident_number: int | None = None
    # True when due times (reminders, summaries, checklist) may have changed, so the
    # scheduler re-derives the incident's jobs after commit.
    reschedule: bool = False


async def load_view(
    tx: AsyncSession, deps: Deps, incident: Incident, *, with_tasks: bool = False
) -> IncidentView:
    assert incident.id is not None
    roles = await repo.roles(tx, incident_id=incident.id)
    tasks = await repo.tasks(tx, incident_id=incident.id) if with_tasks else ()
    return build_view(incident, playbook=deps.playbook_for(incident), roles=roles, tasks=tasks)


async def lookup_user(deps: Deps, ref: str) -> UserRef | None:
    """The platform's user for `ref`, or None. The display name the platform returns is
    text a person chose, so it goes through the one sanitiser like inbound text."""
    user = await deps.port.resolve_user(ref=ref)
    return clean_value(user) if user is not None else None


async def resolve_user(deps: Deps, ref: str) -> UserRef:
    user = await lookup_user(deps, ref)
    if user is None:
        raise UserError(f"I can't find the user `{ref}` on {deps.port.platform}.")
    return user


def touch(incident: Incident, at: datetime) -> None:
    incident.updated_at = at
