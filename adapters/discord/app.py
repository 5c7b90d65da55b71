"""Wiring Discord to the core: a discord.Client whose handlers translate gateway events
and interactions, call `Bot.handle`, and deliver the Outcome.

- `/incident` (the configured command name) is an app-command group with one subcommand
  per grammar subcommand (`slash`), whose options `translate` rebuilds into the grammar
  text; registered per configured guild in `setup_hook`.
- Interactions are deferred ephemerally at once (Discord's 3-second deadline), then the
  reply follows up privately. Forms (modals) must be the first
  response, so they are opened before any deferral: for `declare`, `update` or `resolve`
  with nothing more, and for the card's "Post update" / "Resolve" buttons.
- Buttons are matched by custom_id (`action_id:value`) in `on_interaction`, not by stored
  View objects, so buttons on old messages keep working after a restart with nothing to
  re-register.
- Every interaction and gateway event is handled "in" its guild (`DiscordPort.acting_in`),
  so an incident declared in a second configured guild gets its channel and announcement
  there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord import forms, render, slash, translate
from adapters.discord.port import DiscordPort
from bot import failures
from bot.app import App, build
from bot.clock import Clock
from bot.config import Settings
from bot.events import InboundEvent, ModalSubmitted
from bot.port import ChannelRef, ChatError, Outcome, RichMessage
from storage import repository as repo
from storage.database import Database

log = logging.getLogger("warroom.discord")

MODAL_BUTTONS = {"incident.post_update": "update", "incident.resolve": "resolve"}


def without_voice() -> None:
    """warroom never joins a voice channel. discord.py warns, once per process, when the
    voice libraries (PyNaCl, davey) are missing, as soon as a client is made; these are
    the flags it keeps for that warning."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def intents(*, message_content: bool) -> discord.Intents:
    result = discord.Intents.none()
    result.guilds = True
    result.guild_messages = True
    result.guild_reactions = True
    result.message_content = message_content
    return result


def wants_form(text: str) -> str | None:
    """`declare`, `update` or `resolve` with nothing more opens a form."""
    words = text.split()
    if words in ([], ["declare"]):
        return "declare"
    if words in (["update"], ["resolve"]):
        return words[0]
    return None


def raw_interaction(ix: discord.Interaction[Any]) -> dict[str, Any]:
    """The interaction's fields in gateway shape, for `translate`."""
    author = ix.user
    return {
        "id": str(ix.id),
        "type": ix.type.value,
        "data": dict(ix.data or {}),
        "channel_id": str(ix.channel_id or ""),
        "channel": {"name": getattr(ix.channel, "name", "") or ""},
        "user": {"id": str(author.id), "username": author.name, "global_name": author.display_name},
        "message": {"id": str(ix.message.id)} if ix.message else {},
    }


def _author(user: discord.abc.User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.name,
        "global_name": user.display_name,
        "bot": user.bot,
    }


class DiscordBridge(discord.Client):
    def __init__(self, settings: Settings, *, intents: discord.Intents) -> None:
        without_voice()
        super().__init__(intents=intents)
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        guilds = settings.discord_guilds
        self.port = DiscordPort(
            self,
            guild_id=guilds[0] if guilds else 0,
            guild_ids=guilds,
            category=settings.discord_category,
        )
        self.core: App | None = None
        self.connected = asyncio.Event()  # set at READY

    @property
    def app(self) -> App:
        assert self.core is not None, "build_discord sets the core"
        return self.core

    @property
    def bot_user_id(self) -> str:
        return str(self.user.id) if self.user else ""

    # --- start-up --------------------------------------------------------------------

    async def setup_hook(self) -> None:
        command = slash.group(
            self.settings.command_name,
            severities=self.settings.severity_scale.names,
            playbooks=self.app.playbooks,
            on_command=self.on_command,
        )
        guilds = [discord.Object(g) for g in self.settings.discord_guilds]
        if guilds:
            self.tree.add_command(command, guilds=guilds)
        else:
            self.tree.add_command(command)
        targets: list[discord.Object | None] = [*guilds] or [None]
        for guild in targets:
            try:
                await self.tree.sync(guild=guild)
            except discord.HTTPException:
                log.exception("could not register /%s in guild %s", command.name, guild)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s", self.user)
        self.connected.set()
        if not self.intents.message_content:
            log.warning(
                "the Message Content intent is off: chat in incident channels is captured "
                "without its text (only mentions of the bot). Turn on 'Message Content Intent' "
                "in the Developer Portal (Bot page) and restart warroom."
            )

    # --- delivering ------------------------------------------------------------------

    async def named(self, event: InboundEvent) -> InboundEvent:
        if event.user.name or not event.user.id:
            return event
        try:
            user = await self.port.resolve_user(ref=event.user.id)
        except ChatError:
            log.warning("could not look up the name of %s", event.user.id, exc_info=True)
            return event
        return dataclasses.replace(event, user=user) if user is not None else event

    async def _incident_channel(self, incident: str) -> ChannelRef | None:
        number = incident.partition(":")[0]
        if not number.isdecimal():
            return None
        async with self.app.db.reader() as tx:
            row = await repo.incident_by_number(tx, number=int(number))
        if row is None or not row.channel_id:
            return None
        return ChannelRef(row.channel_id, row.channel_name or "")

    async def handle(self, event: InboundEvent, *, guild_id: int | None = None) -> Outcome:
        """Hand an event to the core, acting in the guild it came from."""
        with self.port.acting_in(guild_id):
            if isinstance(event, ModalSubmitted) and event.metadata:
                # A form opened from a copy outside the incident channel still acts in it.
                channel = await self._incident_channel(event.metadata)
                if channel is not None:
                    event = dataclasses.replace(event, channel=channel)
            return await self.app.bot.handle(await self.named(event))

    async def background(self, event: InboundEvent | None, *, guild_id: int | None) -> None:
        """A gateway event: handle it; a reply (a refusal, say) goes to the person by DM,
        as on Slack; failures are logged (nobody to answer)."""
        if event is None:
            return
        try:
            outcome = await self.handle(event, guild_id=guild_id)
            if outcome.reply is not None and not outcome.duplicate and event.user.id:
                await self.port.reply_privately(
                    channel_id=event.channel.id, user_id=event.user.id, message=outcome.reply
                )
        except Exception:
            log.exception("failed handling a Discord %s", type(event).__name__)

    async def open_form(self, ix: discord.Interaction[Any], modal: str, incident: str) -> None:
        if modal == "declare":
            form = forms.declare(
                severities=self.settings.severity_scale, playbooks=self.app.playbooks.names
            )
        else:
            form = (forms.update if modal == "update" else forms.resolve)(incident=incident)
        await ix.response.send_modal(form)

    async def respond(self, ix: discord.Interaction[Any], event: InboundEvent) -> None:
        """Defer privately, handle, then follow up privately with the reply (the first
        follow-up takes the place of the "thinking…" placeholder), or an apology."""
        await ix.response.defer(ephemeral=True, thinking=True)
        try:
            outcome = await self.handle(event, guild_id=ix.guild_id)
            reply = outcome.reply
            if reply is None and outcome.modal:
                reply = RichMessage(text=f"Use `/{self.settings.command_name} {outcome.modal}`.")
            if reply is None:
                reply = RichMessage(text="Already done." if outcome.duplicate else "Done.")
            await ix.followup.send(ephemeral=True, **render.render(reply).send_kwargs())
        except Exception as exc:
            failure = failures.logged(log, exc, "failed handling a Discord interaction")
            apology = self.app.bot.apology(failure, saved=None)
            try:
                await ix.followup.send(ephemeral=True, **render.render(apology).send_kwargs())
            except discord.HTTPException:
                log.exception("could not report ref %s to the sender", failure.reference)

    # --- interactions ----------------------------------------------------------------

    async def on_command(self, ix: discord.Interaction[Any]) -> None:
        event = translate.command(raw_interaction(ix))
        form = wants_form(event.text)
        if form is not None:
            await self.open_form(ix, form, "")
            return
        await self.respond(ix, event)

    async def on_interaction(self, ix: discord.Interaction[Any]) -> None:
        raw = raw_interaction(ix)
        if ix.type is discord.InteractionType.component:
            event = translate.button(raw)
            if event is None:
                return
            modal = MODAL_BUTTONS.get(event.action_id)
            if modal is not None:
                await self.open_form(ix, modal, event.value)
                return
            await self.respond(ix, event)
        elif ix.type is discord.InteractionType.modal_submit:
            await self.respond(ix, translate.submission(raw))

    # --- gateway events --------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None:
            return
        reference = message.reference
        data = {
            "id": str(message.id),
            "channel_id": str(message.channel.id),
            "author": _author(message.author),
            "content": message.content,
            "timestamp": message.created_at.isoformat(),
            "type": message.type.value,
            "webhook_id": message.webhook_id,
            "message_reference": {"message_id": reference.message_id} if reference else {},
        }
        event = translate.message_create(data, bot_user_id=self.bot_user_id)
        await self.background(event, guild_id=message.guild.id)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        event = translate.message_update(dict(payload.data), bot_user_id=self.bot_user_id)
        await self.background(event, guild_id=payload.guild_id)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        cached = payload.cached_message
        if cached is not None and (cached.author.bot or cached.author == self.user):
            return
        data = {"id": str(payload.message_id), "channel_id": str(payload.channel_id)}
        author = _author(cached.author) if cached is not None else None
        event = translate.message_delete(data, author=author)
        await self.background(event, guild_id=payload.guild_id)

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        data: dict[str, Any] = {
            "user_id": str(payload.user_id),
            "channel_id": str(payload.channel_id),
            "message_id": str(payload.message_id),
            "emoji": {"name": payload.emoji.name, "id": payload.emoji.id},
        }
        if payload.member is not None:
            data["member"] = {"user": _author(payload.member), "nick": payload.member.nick}
        event = translate.reaction(data, added=added, bot_user_id=self.bot_user_id)
        await self.background(event, guild_id=payload.guild_id)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)


async def build_discord(
    settings: Settings,
    *,
    message_content: bool = True,
    clock: Clock | None = None,
    db: Database | None = None,
) -> DiscordBridge:
    """The core wired to Discord (not yet connected: see `server.run`)."""
    if settings.discord_announce_channel:
        settings = settings.model_copy(
            update={"announce_channel": settings.discord_announce_channel}
        )
    bridge = DiscordBridge(settings, intents=intents(message_content=message_content))
    bridge.core = await build(settings, port=bridge.port, clock=clock, db=db)
    return bridge
