"""Running chat effects after commit: retried, and never silently dropped.

A failed effect is retried with backoff when the platform says it may succeed later.
When it still fails it is logged with the incident number, recorded on the timeline,
and reported in the incident channel when that channel is reachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.clock import Clock
from bot.domain.timeline import EventKind
from bot.port import ChatError, ChatPort
from bot.render import Renderer
from bot.service.base import Effect
from bot.views import incident_ref
from storage import repository as repo
from storage.database import Database

log = logging.getLogger("warroom.effects")


class EffectRunner:
    def __init__(
        self,
        *,
        db: Database,
        port: ChatPort,
        renderer: Renderer,
        clock: Clock,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.db = db
        self.port = port
        self.renderer = renderer
        self.clock = clock
        self.attempts = attempts
        self.backoff = backoff

    async def run_all(self, effects: Sequence[Effect], *, incident_id: int | None) -> None:
        """Run effects in order; one failing does not stop the others."""
        for effect in effects:
            await self.run(effect, incident_id=incident_id)

    async def run_together(self, effects: Sequence[Effect], *, incident_id: int | None) -> None:
        """Run independent effects concurrently (each still retried and reported on its
        own), so chat round trips overlap instead of adding up."""
        await asyncio.gather(*(self.run(e, incident_id=incident_id) for e in effects))

    async def run(self, effect: Effect, *, incident_id: int | None) -> bool:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                await effect.run()
                return True
            except ChatError as exc:
                if not exc.retryable or attempt == self.attempts:
                    await self._report(effect, exc, attempt, incident_id)
                    return False
            except Exception as exc:
                await self._report(effect, exc, attempt, incident_id)
                return False
            await asyncio.sleep(delay)
            delay *= 2
        return False

    async def _report(
        self, effect: Effect, exc: BaseException, attempts: int, incident_id: int | None
    ) -> None:
        ref = "no incident"
        channel_id = None
        try:
            if incident_id is not None:
                async with self.db.transaction() as tx:
                    incident = await repo.incident_by_id(tx, incident_id=incident_id)
                    if incident is not None:
                        ref = incident_ref(incident.number)
                        channel_id = incident.channel_id
                        repo.add_timeline(
                            tx,
                            incident_id=incident_id,
                            at=self.clock.now(),
                            kind=EventKind.EFFECT_FAILED,
                            text=f"could not {effect.what}: {exc}",
                        )
        except Exception:
            log.exception("could not record the failed effect for incident id %s", incident_id)
        log.error(
            "%s: could not %s after %d attempt(s): %s",
            ref,
            effect.what,
            attempts,
            exc,
            exc_info=exc,
        )
        if channel_id:
            message = self.renderer.message(
                "effect_failed", what=effect.what, attempts=attempts, error=str(exc)
            )
            try:
                await self.port.post_message(channel_id=channel_id, message=message)
            except Exception:
                log.exception("could not report the failed effect in %s", channel_id)
