"""`Bot.handle`: the one entry point for every inbound event, from every platform.

It parses, opens one transaction (claiming the event's idempotency key in it), runs the
use case, commits, then runs the chat effects and returns the private reply. Buttons
and forms become commands first (`bot/interactions.py`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import commands as cmd
from bot import failures, rhythm
from bot.domain import status as lifecycle
from bot.effects import EffectRunner
from bot.errors import UserError
from bot.events import (
    AlertsReceived,
    ButtonPressed,
    CommandInvoked,
    InboundEvent,
    MemberJoined,
    MessageDeleted,
    MessageEdited,
    MessagePosted,
    ModalSubmitted,
    ReactionAdded,
    ReactionRemoved,
)
from bot.interactions import button_command, button_incident, modal_command
from bot.limits import fit_reply
from bot.port import ChannelRef, ChatError, Outcome, RichMessage
from bot.reactions import DEFAULT_REACTIONS, ReactionAction, emoji_key, emoji_label
from bot.sanitize import clean_event
from bot.service import alerts, cadence, capture, declare, queries, records, triage
from bot.service import lifecycle as life
from bot.service.base import Actor, Deps, Result
from storage import repository as repo
from storage.repository import Executor, IncidentKey

log = logging.getLogger("warroom.bot")


COMMANDS = (CommandInvoked, ButtonPressed, ModalSubmitted)
Handler = Callable[[Any, IncidentKey | None], Awaitable[Result]]
CaptureHandler = Callable[[Any, IncidentKey], Awaitable[Result]]


class Bot:
    def __init__(
        self, deps: Deps, *, reactions: Mapping[str, ReactionAction | str] | None = None
    ) -> None:
        self.deps = deps
        given = DEFAULT_REACTIONS if reactions is None else reactions
        self.reactions = {emoji_key(k): ReactionAction(v) for k, v in given.items()}
        self.runner = EffectRunner(
            db=deps.db, port=deps.port, renderer=deps.renderer, clock=deps.clock
        )
        # Told the incident id after every committed change (the scheduler re-syncs).
        self.listeners: list[Callable[[int], Awaitable[None]]] = []

    async def _changed(self, incident_id: int) -> None:
        for listener in self.listeners:
            try:
                await listener(incident_id)
            except Exception:
                log.exception("change listener failed for incident id %s", incident_id)

    async def run_due(self, *, now: datetime | None = None) -> list[rhythm.Fired]:
        """Fire reminders, summaries and checklist steps that are due. The scheduler's
        jobs call this; so do the demo and the tests on a manual clock."""
        fired = await rhythm.fire_due(self.deps, self.runner, now=now)
        for incident_id in dict.fromkeys(f.incident_id for f in fired):
            await self._changed(incident_id)
        return fired

    async def handle(self, event: InboundEvent) -> Outcome:
        # Every string a person or monitoring wrote is cleaned here, once, before
        # anything reads it: no forged mention token, no lone surrogate (bot/sanitize.py).
        event = clean_event(event)
        outcome, result = await self._handle(event)
        if outcome.reply is not None:  # every reply fits MAX_REPLY (bot/limits.py)
            outcome = dataclasses.replace(outcome, reply=fit_reply(outcome.reply))
        if isinstance(event, COMMANDS):
            self.deps.metrics.commands.inc("duplicate" if outcome.duplicate else result)
        return outcome

    async def _handle(self, event: InboundEvent) -> tuple[Outcome, str]:
        """The outcome, and how it went: ok, refused (bad input) or error."""
        actor = Actor(user=event.user, channel=event.channel, at=event.at or self.deps.clock.now())
        try:
            return await self._dispatch(event, actor), "ok"
        except UserError as exc:
            return Outcome(reply=self._error(exc)), "refused"
        except Exception as exc:
            number = await self._incident_number(actor.channel.id)
            failure = failures.logged(
                log,
                exc,
                f"unexpected error handling {type(event).__name__}",
                incident_number=number,
            )
            return Outcome(reply=self.apology(failure)), "error"

    def apology(self, failure: failures.Failure, *, saved: bool | None = False) -> RichMessage:
        """What a person sees of an unexpected failure. `saved`: the failure came after
        the commit; None: nobody knows (a platform adapter, after `handle`)."""
        return self.deps.renderer.message(
            "apology", reference=failure.reference, incident_ref=failure.incident, saved=saved
        )

    def _error(self, exc: UserError) -> RichMessage:
        return self.deps.renderer.message(
            "error", message=exc.message, usage=exc.usage, suggestion=exc.suggestion
        )

    async def _incident_number(self, channel_id: str) -> int | None:
        try:
            async with self.deps.db.reader() as tx:
                row = await repo.incident_by_channel(tx, channel_id=channel_id)
                return row.number if row else None
        except Exception:
            return None

    # --- dispatch ---------------------------------------------------------------------

    async def _dispatch(self, event: InboundEvent, actor: Actor) -> Outcome:
        match event:
            case CommandInvoked():
                command = cmd.parse(event.text, severity_names=self.deps.severities.names)
                return await self._command(command, event.key, actor)
            case ButtonPressed():
                return await self._button(event, actor)
            case ModalSubmitted():
                return await self._command(modal_command(event), event.key, actor)
            case MessagePosted():
                return await self._capture(
                    event.key,
                    actor,
                    lambda tx, inc: capture.message_posted(
                        tx,
                        inc,
                        actor,
                        message_id=event.message.id,
                        text=event.text,
                        thread_id=event.thread_id,
                    ),
                    light=True,
                )
            case MessageEdited():
                return await self._capture(
                    event.key,
                    actor,
                    lambda tx, inc: capture.message_edited(
                        tx, inc, actor, message_id=event.message.id, text=event.text
                    ),
                    light=True,
                )
            case MessageDeleted():
                return await self._capture(
                    event.key,
                    actor,
                    lambda tx, inc: capture.message_deleted(
                        tx, inc, actor, message_id=event.message.id
                    ),
                )
            case ReactionAdded() | ReactionRemoved():
                return await self._reaction(event, actor)
            case AlertsReceived():
                report, changed = await alerts.receive(self.deps, self.runner, event)
                for incident_id in changed:
                    await self._changed(incident_id)
                return Outcome(report=report)
            case MemberJoined():
                return await self._capture(
                    event.key,
                    actor,
                    lambda tx, inc: capture.member_joined(tx, self.deps, inc, actor),
                    light=True,
                )
        raise TypeError(f"unhandled event {event!r}")

    async def _command(self, command: cmd.Command, key: str, actor: Actor) -> Outcome:
        deps = self.deps
        match command:
            case cmd.Help(topic=topic):
                return Outcome(reply=queries.show_help(deps, topic).reply)
            case cmd.ListIncidents(page=number):
                async with deps.db.reader() as tx:
                    listing = await queries.list_incidents(tx, deps, number=number)
                    return Outcome(reply=listing.reply)
            case cmd.Declare():
                plan = await declare.plan(deps, command, actor)
                return await self._transact(
                    key,
                    actor,
                    None,
                    lambda tx, _: declare.declare(tx, deps, command, actor, event_key=key, p=plan),
                )
        return await self._transact(key, actor, command, self._incident_handler(command, actor))

    def _incident_handler(self, command: cmd.Command, actor: Actor) -> Handler:
        deps = self.deps

        async def run(tx: Executor, key: IncidentKey | None) -> Result:
            assert key is not None
            if isinstance(command, cmd.AddNote):  # the hot path: no full row needed
                return await records.add_note(tx, deps, key, actor, text=command.text)
            assert isinstance(tx, AsyncSession)  # every other command runs in the ORM
            incident = await repo.incident_by_id(tx, incident_id=key.id, lock=True)
            assert incident is not None
            match command:
                case cmd.SetSeverity(level=level):
                    return await triage.set_severity(
                        tx, deps, incident, actor, target=deps.severities.get(level)
                    )
                case cmd.Escalate():
                    return await triage.escalate(tx, deps, incident, actor, up=True)
                case cmd.Deescalate():
                    return await triage.escalate(tx, deps, incident, actor, up=False)
                case cmd.SetStatus(state=state):
                    return await life.change_status(
                        tx, deps, incident, actor, target=lifecycle.parse(state)
                    )
                case cmd.AssignRole(role=role, user=user):
                    return await triage.assign_role(
                        tx, deps, incident, actor, role=role, user_ref=user
                    )
                case cmd.PostUpdate(text=text):
                    return await records.post_update(tx, deps, incident, actor, text=text)
                case cmd.AddTask(text=text, owner=owner):
                    return await records.add_task(
                        tx, deps, incident, actor, text=text, owner_ref=owner
                    )
                case cmd.CompleteTask(number=number):
                    return await records.complete_task(tx, deps, incident, actor, number=number)
                case cmd.ListTasks(page=number):
                    return await records.list_tasks(tx, deps, incident, number=number)
                case cmd.ShowTimeline(page=number):
                    return await records.show_timeline(tx, deps, incident, number=number)
                case cmd.Resolve(summary=summary):
                    return await life.resolve(tx, deps, incident, actor, summary=summary)
                case cmd.Reopen():
                    return await life.reopen(tx, deps, incident, actor)
                case cmd.Snooze(duration=duration):
                    return await cadence.snooze(tx, deps, incident, actor, duration=duration)
                case cmd.ShowSummary():
                    return await cadence.summary(tx, deps, incident, actor)
                case cmd.MakePostmortem():
                    return await cadence.postmortem(deps, incident)
                case cmd.RenderComms(template=template, post=post):
                    return await cadence.comms(
                        tx, deps, incident, actor, template=template, post=post
                    )
            raise TypeError(f"unhandled command {command!r}")

        return run

    async def _transact(
        self, key: str, actor: Actor, command: cmd.Command | None, handler: Handler
    ) -> Outcome:
        deps = self.deps
        # Appending a note needs no ORM session: a bare connection transaction is cheaper.
        unit = deps.db.connection() if isinstance(command, cmd.AddNote) else deps.db.transaction()
        async with unit as tx:
            claimed, located = await repo.claim_and_locate(
                tx, key=key, at=actor.at, channel_id=actor.channel.id
            )
            if not claimed:
                return Outcome(duplicate=True)
            incident = None
            if command is not None:
                incident = located
                if incident is None:
                    name = cmd.name_of(command)
                    raise UserError(
                        f"`{name}` only works inside an incident channel. Run it there, "
                        f"or see `/{deps.options.command_name} list` for open incidents.",
                        usage=cmd.SPECS[name].usage,
                    )
            result = await handler(tx, incident)
        incident_id = result.incident_id or (incident.id if incident else None)
        reply = result.reply
        if result.then is not None:
            try:
                reply = await result.then(self.runner)
            except UserError:
                raise
            except Exception as exc:  # committed: the apology must not say "nothing changed"
                number = result.incident_number or (incident.number if incident else None)
                failure = failures.logged(
                    log, exc, "unexpected error after commit", incident_number=number
                )
                reply = self.apology(failure, saved=True)
        await self.runner.run_all(result.effects, incident_id=incident_id)
        if incident_id is not None and result.reschedule:
            await self._changed(incident_id)
        number = result.incident_number or (incident.number if incident else None)
        return Outcome(reply=reply, incident_number=number)

    async def _capture(
        self, key: str, actor: Actor, handler: CaptureHandler, *, light: bool = False
    ) -> Outcome:
        """Chat activity: recorded only in incident channels; elsewhere ignored.

        `light` handlers only append rows, so they run on a bare connection transaction."""
        db = self.deps.db
        try:
            async with db.connection() if light else db.transaction() as tx:
                claimed, incident = await repo.claim_and_locate(
                    tx, key=key, at=actor.at, channel_id=actor.channel.id
                )
                if not claimed:
                    return Outcome(duplicate=True)
                if incident is None:
                    raise _NotAnIncidentChannel  # roll the claim back: nothing to record
                result = await handler(tx, incident)
        except _NotAnIncidentChannel:
            return Outcome()
        await self.runner.run_all(result.effects, incident_id=incident.id)
        if result.reschedule:
            await self._changed(incident.id)
        return Outcome(reply=result.reply, incident_number=incident.number)

    async def _reaction(self, event: ReactionAdded | ReactionRemoved, actor: Actor) -> Outcome:
        """Reactions from the configured map, in incident channels, by channel members only."""
        action = self.reactions.get(emoji_key(event.emoji))
        added = isinstance(event, ReactionAdded)
        if action is None or (action == ReactionAction.ESCALATE and not added):
            return Outcome()
        channel = actor.channel.id
        if await self._incident_number(channel) is None:
            return Outcome()
        port, label = self.deps.port, emoji_label(event.emoji)
        if not await port.is_member(channel_id=channel, user_id=actor.user.id):
            doing = "escalate" if action == ReactionAction.ESCALATE else "mark key messages"
            raise UserError(
                f"Only members of this incident channel can {doing} with {label}; "
                "join the channel first, then react again. Nothing was changed."
            )
        if action == ReactionAction.PIN:
            link = await self._permalink(event) if added else None
            return await self._capture(
                event.key,
                actor,
                lambda tx, inc: capture.mark_key_message(
                    tx, inc, actor, message_id=event.message.id, on=added, permalink=link
                ),
            )
        deps = self.deps

        async def escalate(tx: AsyncSession, key: IncidentKey) -> Result:
            incident = await repo.incident_by_id(tx, incident_id=key.id, lock=True)
            assert incident is not None
            return await triage.escalate(
                tx, deps, incident, actor, up=True, reason=f"via {label} reaction"
            )

        return await self._capture(event.key, actor, escalate)

    async def _permalink(self, event: ReactionAdded | ReactionRemoved) -> str | None:
        """The message's link, asked before the transaction; a failure only loses the link."""
        try:
            return await self.deps.port.permalink(ref=event.message)
        except ChatError:
            log.warning("no permalink for message %s", event.message.id, exc_info=True)
            return None

    async def _button(self, event: ButtonPressed, actor: Actor) -> Outcome:
        command = button_command(event, actor)
        if isinstance(command, Outcome):
            return command  # the button opens a form
        # A button on a copy outside the incident channel (an escalated reminder in the
        # announcement channel) acts on the incident it names.
        number = button_incident(event.value)
        if number is not None:
            async with self.deps.db.reader() as tx:
                row = await repo.incident_by_number(tx, number=number)
            if row is not None and row.channel_id and row.channel_id != actor.channel.id:
                channel = ChannelRef(row.channel_id, row.channel_name or "")
                actor = Actor(user=actor.user, channel=channel, at=actor.at)
        return await self._command(command, event.key, actor)


class _NotAnIncidentChannel(Exception):
    """Chat activity outside incident channels is not recorded."""
