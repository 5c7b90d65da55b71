"""Alert messages in the incident channel, including those that had to wait for it.

An alert that joins an incident whose channel does not exist yet (its declare is still
opening it, or the platform refused and recovery will try again) is stored unposted:
`alert.last_posted` is NULL. Whoever may be the first to see both the alert and the
channel calls `post_waiting`: the declare or the recovery that made the channel, once
the card is out, and a delivery that stored an unposted alert, after its commit (the
channel may have been made in between). The claim is one conditional UPDATE, so each
waiting alert is posted once, whoever gets there first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.alerts.model import Alert, Link
from bot.port import RichMessage
from bot.service import notices
from bot.service.base import Deps, Effect
from storage import alert_store
from storage import repository as repo
from storage.tables import AlertRecord, Incident

if TYPE_CHECKING:
    from bot.effects import EffectRunner


def message(deps: Deps, alert: Alert, what: str, count: int) -> RichMessage:
    """The alert's message: `what` is `attached`, `fired again` or `resolved`."""
    return deps.renderer.message("alert", alert=alert, event=what, count=count, source=alert.source)


def post(deps: Deps, incident: Incident, alert: Alert, what: str, count: int) -> Effect | None:
    """The effect that posts the alert's message; None while the incident has no channel."""
    if not incident.channel_id:
        return None
    return notices.post(
        deps, incident, message(deps, alert, what, count), f"post the {alert.source} alert ({what})"
    )


def links(alert: Alert) -> list[dict[str, str]]:
    """The alert's links as its row stores them."""
    return [{"label": link.label, "url": link.url} for link in alert.links]


def _stored(row: AlertRecord) -> Alert:
    return Alert(
        source=row.source,
        key=row.key,
        status="resolved" if row.status == "resolved" else "firing",
        title=row.title,
        group=row.group_key,
        severity=row.severity,
        labels=row.labels,
        links=tuple(
            Link(label=str(x.get("label", "")), url=str(x.get("url", ""))) for x in row.links
        ),
    )


async def post_waiting(deps: Deps, runner: EffectRunner, *, incident_id: int) -> int:
    """Post the incident's alerts that joined before it had a channel, if it has one now.
    Returns how many were posted."""
    async with deps.db.transaction() as tx:
        incident = await repo.incident_by_id(tx, incident_id=incident_id)
        if incident is None or not incident.channel_id:
            return 0
        rows = await alert_store.claim_unposted(tx, incident_id=incident_id, at=deps.clock.now())
    effects = []
    for row in rows:
        alert = _stored(row)
        what = "resolved" if alert.status == "resolved" else "attached"
        effect = post(deps, incident, alert, what, row.fire_count)
        if effect is not None:
            effects.append(effect)
    await runner.run_all(effects, incident_id=incident_id)
    return len(effects)
