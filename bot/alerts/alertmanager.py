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

import logging

from bot.alerts import fields
from bot.alerts.model import Alert

log = logging.getLogger("warroom.alerts")
VERSION = "4"


def parse(body: object) -> list[Alert]:
    """The alerts of one Alertmanager webhook delivery, in the order they came."""
    root = fields.as_object(body, "body")
    fields.exact(root, "version", "", VERSION)
    group = fields.group_key(fields.string(root, "groupKey", "", required=True))
    fields.status(root, "status", "")
    fields.string(root, "receiver", "")
    truncated = fields.integer(root, "truncatedAlerts", "")
    if truncated:
        log.warning(
            "Alertmanager left %s alerts out of a delivery (its max_alerts); they are not recorded",
            truncated,
        )
    for name in ("groupLabels", "commonLabels"):
        fields.string_map(root, name, "", limit=fields.MAX_LABEL_VALUE)
    fields.string_map(root, "commonAnnotations", "", limit=None)
    external = fields.string(root, "externalURL", "")
    alerts = fields.alert_list(root.get("alerts"), "alerts")
    return [
        _alert(item, f"alerts[{index}]", group=group, external=external)
        for index, item in enumerate(alerts)
    ]


def _alert(item: object, path: str, *, group: str, external: str) -> Alert:
    raw = fields.as_object(item, path)
    status = fields.status(raw, "status", path)
    labels = fields.string_map(raw, "labels", path, limit=fields.MAX_LABEL_VALUE)
    annotations = fields.string_map(raw, "annotations", path, limit=None)
    starts_at = fields.time(raw, "startsAt", path, required=True)
    ends_at = fields.time(raw, "endsAt", path)
    generator = fields.string(raw, "generatorURL", path)
    key = fields.fingerprint(raw, path, labels)
    name = labels.get("alertname", "")
    instance = labels.get("instance", "")
    named = f"{name} on {instance}" if name and instance else name
    summary = annotations.get("description") or annotations.get("summary", "")
    return Alert(
        source="alertmanager",
        key=key,
        status=status,
        title=fields.title(annotations.get("summary", ""), named, fallback="Alertmanager alert"),
        group=group,
        severity=labels.get("severity", ""),
        summary=fields.trim(summary.strip(), fields.MAX_TEXT),
        labels=labels,
        annotations=annotations,
        links=fields.links(
            ("Source", generator),
            ("Runbook", annotations.get("runbook_url", "")),
            ("Alertmanager", external),
        ),
        starts_at=starts_at,
        ends_at=ends_at,
    )
