"""The short path of alert intake, for what most deliveries are: repeats and group joins.

A delivery whose alerts are all firing, and each either fires again while its incident is
open or is new in a notification group that already has an open incident, is recorded on
one bare connection transaction with prepared statements: per alert, one counting
UPDATE (or a group lookup and one INSERT) and the timeline row. Anything else (a resolve,
a re-fire after a resolve, a declare, a race another delivery won) rolls this back and
takes the full path in `bot.service.alerts`, which handles every case. An alert that
joins an incident without a channel yet is stored unposted; the caller posts it after
the commit if the channel exists by then (`bot.service.alert_posts`).
"""

from __future__ import annotations

from typing import Any

from bot.alerts.model import Alert, IntakeReport
from bot.alerts.rules import route
from bot.domain.timeline import EventKind
from bot.events import AlertsReceived
from bot.service import alert_posts
from bot.service.base import Actor, Deps, Effect
from storage import alert_store
from storage import repository as repo

Posts = list[tuple[int, Effect]]


class _TakeTheFullPath(Exception):
    """Something in the delivery needs more than a repeat or a join."""


def timeline_entry(
    incident_id: int, alert: Alert, actor: Actor, what: str, **data: Any
) -> dict[str, Any]:
    """The `alert` timeline row for one thing that happened to an alert."""
    return {
        "incident_id": incident_id,
        "at": actor.at,
        "kind": EventKind.ALERT,
        "actor_id": actor.user.id,
        "actor_name": actor.user.name,
        "text": f"{alert.title} ({what})",
        "data": {
            "event": what,
            "source": alert.source,
            "key": alert.key,
            "status": alert.status,
            "labels": dict(alert.labels),
            "links": [{"label": link.label, "url": link.url} for link in alert.links],
            **data,
        },
    }


async def short_path(
    deps: Deps, event: AlertsReceived, actor: Actor
) -> tuple[IntakeReport, Posts, set[int]] | None:
    """The report, the channel posts to make and the incidents joined while they had no
    channel (to post to once they have one); or None: take the full path."""
    alerts = event.alerts
    if not alerts or any(a.status != "firing" for a in alerts):
        return None
    if any(route(deps.playbooks, a) is None for a in alerts):
        return None
    report = IntakeReport(received=len(alerts))
    posts: Posts = []
    waiting: set[int] = set()
    try:
        async with deps.db.connection() as conn:
            for alert in alerts:
                hit = await alert_store.count_repeat(
                    conn, source=alert.source, key=alert.key, at=actor.at
                )
                if hit is not None:
                    entry = timeline_entry(
                        hit.incident_id, alert, actor, "repeated", count=hit.fire_count
                    )
                    await repo.insert_timeline(conn, **entry)
                    report.deduplicated += 1
                    _touched(report, hit.number)
                    continue
                row = {
                    "title": alert.title,
                    "severity": alert.severity,
                    "labels": alert.labels,
                    "links": alert_posts.links(alert),
                }
                joined = await alert_store.join_group(
                    conn,
                    source=alert.source,
                    key=alert.key,
                    group=alert.group,
                    row=row,
                    at=actor.at,
                )
                if joined is None:
                    raise _TakeTheFullPath
                await repo.insert_timeline(
                    conn, **timeline_entry(joined.incident_id, alert, actor, "attached")
                )
                report.attached += 1
                _touched(report, joined.number)
                if joined.channel_id:
                    posts.append((joined.incident_id, _post(deps, joined.channel_id, alert)))
                else:
                    waiting.add(joined.incident_id)
    except _TakeTheFullPath:
        return None
    return report, posts, waiting


def _touched(report: IntakeReport, number: int) -> None:
    if number not in report.incidents:
        report.incidents.append(number)


def _post(deps: Deps, channel_id: str, alert: Alert) -> Effect:
    message = alert_posts.message(deps, alert, "attached", 1)

    async def run() -> None:
        await deps.port.post_message(channel_id=channel_id, message=message)

    return Effect(f"post the {alert.source} alert (attached)", run)
