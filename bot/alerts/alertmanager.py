"""Prometheus Alertmanager's webhook (`webhook_config`, payload version "4").

The body is one notification group::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing",
     "receiver": "...", "groupLabels": {...}, "commonLabels": {...},
     "commonAnnotations": {...}, "externalURL": "http://alertmanager:9093",
     "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
                 "startsAt": "<rfc3339>", "endsAt": "<rfc3339>",
                 "generatorURL": "...", "fingerprint": "..."}]}

Each alert's key is its `fingerprint` (derived from its labels when an older
Alertmanager leaves it out); its group is the `groupKey`.
"""

from __future__ import annotations

from bot.alerts import fields, prometheus
from bot.alerts.model import Alert

VERSION = "4"


def parse(body: object) -> list[Alert]:
    """The alerts of one Alertmanager webhook delivery, in the order they came."""
    group = prometheus.envelope(body, source="Alertmanager", version=VERSION)
    external = fields.string(group.root, "externalURL", "")
    return [
        _alert(item, f"alerts[{index}]", group=group.group, external=external)
        for index, item in enumerate(group.items)
    ]


def _alert(item: object, path: str, *, group: str, external: str) -> Alert:
    c = prometheus.common(item, path)
    generator = fields.string(c.raw, "generatorURL", path)
    name = c.labels.get("alertname", "")
    instance = c.labels.get("instance", "")
    named = f"{name} on {instance}" if name and instance else name
    return Alert(
        source="alertmanager",
        key=c.key,
        status=c.status,
        title=fields.title(c.annotations.get("summary", ""), named, fallback="Alertmanager alert"),
        group=group,
        severity=c.labels.get("severity", ""),
        summary=c.summary,
        labels=c.labels,
        annotations=c.annotations,
        links=fields.links(
            ("Source", generator),
            ("Runbook", c.annotations.get("runbook_url", "")),
            ("Alertmanager", external),
        ),
        starts_at=c.starts_at,
        ends_at=c.ends_at,
    )
