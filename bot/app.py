"""The composition root: builds everything from Settings, with a start/stop lifecycle."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.bot import Bot
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.playbooks import PlaybookSet, load_playbooks
from bot.port import ChatPort
from bot.render import Renderer, TemplateProblem
from bot.scheduler import Scheduler
from bot.service.base import Deps, Options
from bot.service.recovery import Recovery, resume_declares
from bot.template_check import check_templates
from storage import migrate
from storage.database import Database

log = logging.getLogger("warroom.app")


@dataclass
class App:
    settings: Settings
    db: Database
    playbooks: PlaybookSet
    renderer: Renderer
    bot: Bot
    scheduler: Scheduler | None = None

    async def start_scheduler(self) -> Scheduler:
        """Derive timer jobs from the database and keep them in step with every change.

        Only for a real clock: tests and the demo call `bot.run_due()` themselves."""
        scheduler = Scheduler(db=self.db, fire=self.bot.run_due, recover=self._recover)
        self.bot.listeners.append(scheduler.sync)
        await scheduler.start()
        self.scheduler = scheduler
        return scheduler

    async def recover(self) -> Recovery:
        """Finish the declares that a crashed process left without a channel, once their
        setup lease (WARROOM_SETUP_LEASE) has run out. The scheduler runs this at start
        and on every sweep; on a manual clock call it yourself."""
        return await resume_declares(
            self.bot.deps, self.bot.runner, lease=self.settings.setup_lease_delta
        )

    async def _recover(self) -> tuple[list[int], datetime | None]:
        done = await self.recover()
        return done.resumed, done.next_check

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
            await self.scheduler.idle()
        await self.db.dispose()


def load_configuration(settings: Settings) -> tuple[PlaybookSet, Renderer]:
    """Playbooks and templates: raises PlaybookError / TemplateProblem on bad files.

    Every template is rendered against sample incidents (`bot.template_check`), so an
    unknown filter or a misspelled variable stops the start, not a live incident."""
    playbooks = load_playbooks(settings.playbooks_dir, severities=settings.severity_scale)
    renderer = Renderer(
        override_dir=settings.playbooks_dir / "templates", timezone=settings.timezone
    )
    problems = check_templates(renderer, playbooks, command=settings.command_name)
    if problems:
        raise TemplateProblem("\n".join(problems))
    renderer.warm()
    return playbooks, renderer


async def build(
    settings: Settings,
    *,
    port: ChatPort,
    clock: Clock | None = None,
    db: Database | None = None,
    upgrade: bool = True,
) -> App:
    playbooks, renderer = load_configuration(settings)
    database = db or Database.connect(
        settings.database_url, connect_timeout=settings.connect_timeout
    )
    if upgrade:
        try:
            await migrate.upgrade(database)
        except BaseException:
            if db is None:  # ours to close: don't leak the pool on a refused schema
                await database.dispose()
            raise
    deps = Deps(
        port=port,
        renderer=renderer,
        playbooks=playbooks,
        severities=settings.severity_scale,
        clock=clock or SystemClock(),
        db=database,
        options=Options(
            command_name=settings.command_name,
            announce_channel=settings.announce_channel,
            timezone=settings.timezone,
        ),
    )
    bot = Bot(deps, reactions=settings.reaction_map)
    return App(settings=settings, db=database, playbooks=playbooks, renderer=renderer, bot=bot)
