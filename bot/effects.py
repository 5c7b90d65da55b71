"""Running chat effects after commit: retried, and never silently dropped.

A failed effect is retried with backoff when the platform says it may succeed later.
When it still fails it is logged with the incident number, recorded on the timeline,
and reported in the incident channel when that channel is reachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot import failures
from bot.clock import Clock
from bot.domain.timeline import EventKind
from bot.port import ChatError, ChatPort
from bot.render import Renderer
from bot.service.base import Effect
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
        number, channel_id = await self._incident(incident_id)
        failure = failures.logged(
            log,
            exc,
            f"could not {effect.what} after {attempts} attempt(s)",
            incident_number=number,
        )
        # People read the timeline and the channel: a platform's reason, or the reference.
        said = failure.reason or f"an unexpected error (ref {failure.reference})"
        if incident_id is not None and number is not None:
            try:
                async with self.db.transaction() as tx:
                    repo.add_timeline(
                        tx,
                        incident_id=incident_id,
                        at=self.clock.now(),
                        kind=EventKind.EFFECT_FAILED,
                        text=f"could not {effect.what}: {said}",
                        data={"reference": failure.reference},
                    )
            except Exception:
                log.exception("could not record the failed effect (ref %s)", failure.reference)
        if channel_id:
            message = self.renderer.message(
                "effect_failed",
                what=effect.what,
                attempts=attempts,
                error=failure.reason,
                reference=failure.reference,
                incident_ref=failure.incident,
            )
            try:
                await self.port.post_message(channel_id=channel_id, message=message)
            except Exception:
                log.exception("could not report the failed effect (ref %s)", failure.reference)

    async def _incident(self, incident_id: int | None) -> tuple[int | None, str | None]:
        """The incident's number and channel, if it (still) exists and can be read."""
        if incident_id is None:
            return None, None
        try:
            async with self.db.reader() as tx:
                incident = await repo.incident_by_id(tx, incident_id=incident_id)
        except Exception:
            log.exception("could not read incident id %s to report a failed effect", incident_id)
            return None, None
        if incident is None:
            return None, None
        return incident.number, incident.channel_id
