"""Wiring Slack to the core: a slack_bolt AsyncApp whose listeners translate payloads,
call `Bot.handle`, and deliver the Outcome (ephemeral reply or a form).

Every listener acknowledges first and then does the work in its own task, whose failures
are caught, logged and reported to the sender: an exception raised in a listener soon
after `await ack()` can make Bolt drop the acknowledgement.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import render, translate, views
from adapters.slack.port import SlackPort, make_client
from bot import failures
from bot.app import App, build
from bot.clock import Clock
from bot.config import Settings
from bot.events import InboundEvent
from bot.port import ChatError, Outcome, RichMessage
from storage import repository as repo
from storage.database import Database

log = logging.getLogger("warroom.slack")

Respond = Callable[..., Awaitable[Any]]


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


@dataclass
class SlackBridge:
    """The core app, the Bolt app and the background work between them."""

    core: App
    bolt: AsyncApp
    port: SlackPort
    client: AsyncWebClient
    settings: Settings
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # --- background work -------------------------------------------------------------

    def spawn(self, work: Awaitable[None], *, what: str, respond: Respond | None = None) -> None:
        async def run() -> None:
            try:
                await work
            except Exception as exc:
                failure = failures.logged(log, exc, f"failed handling a Slack {what}")
                if respond is not None:
                    apology = self.core.bot.apology(failure, saved=None)
                    try:
                        await respond(
                            response_type="ephemeral",
                            replace_original=False,
                            **render.render(apology),
                        )
                    except Exception:
                        log.exception("could not report ref %s to the sender", failure.reference)

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def idle(self) -> None:
        """Wait until every background task (and any they started) has finished."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    # --- delivering outcomes ---------------------------------------------------------

    async def reply(
        self, message: RichMessage, *, respond: Respond | None, channel_id: str, user_id: str
    ) -> None:
        if respond is not None:
            await respond(
                response_type="ephemeral", replace_original=False, **render.render(message)
            )
        elif channel_id and user_id:
            await self.port.reply_privately(channel_id=channel_id, user_id=user_id, message=message)

    async def open_form(
        self, modal: str, *, trigger_id: str, channel_id: str, incident: str = ""
    ) -> None:
        if modal == "declare":
            matrices = [p.matrix for p in self.core.playbooks.by_name.values() if p.matrix]
            levels = (
                (
                    list(dict.fromkeys(i for m in matrices for i in m.impact)),
                    list(dict.fromkeys(u for m in matrices for u in m.urgency)),
                )
                if matrices
                else None
            )
            view = views.declare(
                channel_id=channel_id,
                severities=self.settings.severity_scale,
                playbooks=self.core.playbooks.names,
                matrix=levels,
            )
        else:
            channel_id = await self._incident_channel(incident) or channel_id
            make = views.update if modal == "update" else views.resolve
            view = make(channel_id=channel_id, incident=incident)
        await self.client.views_open(trigger_id=trigger_id, view=view)

    async def _incident_channel(self, incident: str) -> str:
        """A form opened from a copy outside the incident channel still acts in it."""
        number = incident.partition(":")[0]
        if not number.isdecimal():
            return ""
        async with self.core.db.reader() as tx:
            row = await repo.incident_by_number(tx, number=int(number))
        return (row.channel_id or "") if row is not None else ""

    async def named(self, event: InboundEvent) -> InboundEvent:
        """Events carry only a user id: add the display name (cached by the port) so the
        timeline shows people, not ids. A failed lookup keeps the id."""
        if event.user.name:
            return event
        try:
            user = await self.port.resolve_user(ref=event.user.id)
        except ChatError:
            log.warning("could not look up the name of %s", event.user.id, exc_info=True)
            return event
        return dataclasses.replace(event, user=user) if user is not None else event

    async def deliver(
        self, event: InboundEvent, *, respond: Respond | None = None, trigger_id: str = ""
    ) -> Outcome:
        outcome = await self.core.bot.handle(await self.named(event))
        if outcome.duplicate:
            return outcome
        if outcome.modal and trigger_id:
            await self.open_form(
                outcome.modal,
                trigger_id=trigger_id,
                channel_id=event.channel.id,
                incident=outcome.modal_context.get("incident", ""),
            )
        if outcome.reply is not None:
            await self.reply(
                outcome.reply, respond=respond, channel_id=event.channel.id, user_id=event.user.id
            )
        return outcome

    # --- listeners -------------------------------------------------------------------

    def wants_form(self, text: str) -> str | None:
        """`/incident`, `declare`, `update` or `resolve` with nothing more opens a form."""
        words = text.split()
        if words in ([], ["declare"]):
            return "declare"
        if words in (["update"], ["resolve"]):
            return words[0]
        return None

    async def on_command(self, body: Mapping[str, Any], respond: Respond) -> None:
        event = translate.command(body)
        trigger_id = str(body.get("trigger_id", ""))
        form = self.wants_form(event.text)
        if form is not None and trigger_id:
            await self.open_form(form, trigger_id=trigger_id, channel_id=event.channel.id)
            return
        await self.deliver(event, respond=respond, trigger_id=trigger_id)

    async def on_event(self, body: Mapping[str, Any], bot_user_id: str) -> None:
        joined_or_left = translate.membership(body)
        if joined_or_left is not None:
            channel_id, user_id, joined = joined_or_left
            if joined:
                self.port.member_joined(channel_id=channel_id, user_ids=[user_id])
            else:
                self.port.member_left(channel_id=channel_id, user_id=user_id)
        event = translate.event(body, bot_user_id=bot_user_id or self.port.bot_user_id)
        if event is not None:
            await self.deliver(event)

    async def on_action(self, body: Mapping[str, Any], respond: Respond) -> None:
        event = translate.button(body)
        if event is not None:
            await self.deliver(event, respond=respond, trigger_id=str(body.get("trigger_id", "")))

    async def on_view(self, body: Mapping[str, Any]) -> None:
        await self.deliver(translate.submission(body))


def register(bridge: SlackBridge) -> None:
    bolt, command = bridge.bolt, "/" + bridge.settings.command_name

    @bolt.command(command)
    async def _command(ack: Any, body: dict[str, Any], respond: Respond) -> None:
        await ack()
        bridge.spawn(bridge.on_command(body, respond), what="slash command", respond=respond)

    async def _event(ack: Any, body: dict[str, Any], context: Any) -> None:
        await ack()
        bot_user_id = str(getattr(context, "bot_user_id", None) or "")
        bridge.spawn(bridge.on_event(body, bot_user_id), what="event")

    events = ("message", "reaction_added", "reaction_removed")
    for name in (*events, "member_joined_channel", "member_left_channel"):
        bolt.event(name)(_event)

    @bolt.action(re.compile(r"^incident\."))
    async def _action(ack: Any, body: dict[str, Any], respond: Respond) -> None:
        await ack()
        bridge.spawn(bridge.on_action(body, respond), what="button", respond=respond)

    @bolt.view(re.compile(r"^(declare|update|resolve)$"))
    async def _view(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        bridge.spawn(bridge.on_view(body), what="form")


async def build_slack(
    settings: Settings, *, clock: Clock | None = None, db: Database | None = None
) -> SlackBridge:
    """The core wired to Slack (not yet connected: see `adapters.slack.run`)."""
    client = make_client(_secret(settings.slack_bot_token), base_url=settings.slack_api_url)
    port = SlackPort(client)
    core = await build(settings, port=port, clock=clock, db=db)
    bolt = AsyncApp(
        name="warroom",
        client=client,
        signing_secret=_secret(settings.slack_signing_secret),
        process_before_response=False,
        logger=logging.getLogger("warroom.slack.bolt"),
    )
    bridge = SlackBridge(core=core, bolt=bolt, port=port, client=client, settings=settings)
    register(bridge)
    return bridge
