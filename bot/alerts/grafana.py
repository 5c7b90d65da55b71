"""Grafana unified alerting's webhook contact point (Grafana 9 and later, version "1").

The body follows Alertmanager's, with Grafana's additions::

    {"receiver": "...", "status": "firing", "orgId": 1, "version": "1",
     "groupKey": "...", "truncatedAlerts": 0, "groupLabels": {...},
     "commonLabels": {...}, "commonAnnotations": {...}, "externalURL": "...",
     "title": "[FIRING:1] ...", "state": "alerting", "message": "...",
     "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
                 "startsAt": "<rfc3339>", "endsAt": "<rfc3339>", "values": {...},
                 "generatorURL": "...", "fingerprint": "...", "silenceURL": "...",
                 "dashboardURL": "...", "panelURL": "..."}]}
"""

from __future__ import annotations

import logging

from bot.alerts import fields
from bot.alerts.model import Alert, AlertPayloadError

log = logging.getLogger("warroom.alerts")
VERSION = "1"


def parse(body: object) -> list[Alert]:
    """The alerts of one Grafana webhook delivery, in the order they came."""
    root = fields.as_object(body, "body")
    fields.exact(root, "version", "", VERSION)
    group = fields.group_key(fields.string(root, "groupKey", "", required=True))
    fields.status(root, "status", "")
    fields.integer(root, "orgId", "")
    truncated = fields.integer(root, "truncatedAlerts", "")
    if truncated:
        log.warning(
            "Grafana left %s alerts out of a delivery (its max_alerts); they are not recorded",
            truncated,
        )
    for name in ("receiver", "externalURL", "state", "message"):
        fields.string(root, name, "")
    for name in ("groupLabels", "commonLabels"):
        fields.string_map(root, name, "", limit=fields.MAX_LABEL_VALUE)
    fields.string_map(root, "commonAnnotations", "", limit=None)
    body_title = fields.string(root, "title", "")
    alerts = fields.alert_list(root.get("alerts"), "alerts")
    return [
        _alert(item, f"alerts[{index}]", group=group, body_title=body_title)
        for index, item in enumerate(alerts)
    ]


def _alert(item: object, path: str, *, group: str, body_title: str) -> Alert:
    raw = fields.as_object(item, path)
    status = fields.status(raw, "status", path)
    labels = fields.string_map(raw, "labels", path, limit=fields.MAX_LABEL_VALUE)
    annotations = fields.string_map(raw, "annotations", path, limit=None)
    starts_at = fields.time(raw, "startsAt", path, required=True)
    ends_at = fields.time(raw, "endsAt", path)
    _check_values(raw, path)
    urls = {
        name: fields.string(raw, name, path)
        for name in ("generatorURL", "dashboardURL", "panelURL", "silenceURL")
    }
    key = fields.fingerprint(raw, path, labels)
    summary = annotations.get("description") or annotations.get("summary", "")
    return Alert(
        source="grafana",
        key=key,
        status=status,
        title=fields.title(
            annotations.get("summary", ""),
            labels.get("alertname", ""),
            body_title,
            fallback="Grafana alert",
        ),
        group=group,
        severity=labels.get("severity", ""),
        summary=fields.trim(summary.strip(), fields.MAX_TEXT),
        labels=labels,
        annotations=annotations,
        links=fields.links(
            ("Source", urls["generatorURL"]),
            ("Dashboard", urls["dashboardURL"]),
            ("Panel", urls["panelURL"]),
            ("Silence", urls["silenceURL"]),
            ("Runbook", annotations.get("runbook_url", "")),
        ),
        starts_at=starts_at,
        ends_at=ends_at,
    )


def _check_values(raw: fields.JsonObject, path: str) -> None:
    """`values` (the query results by reference id, like `{"B": 42.5}`): numbers or null."""
    where = fields.member(path, "values")
    found = raw.get("values")
    if found is None:
        return
    for ref, value in fields.as_object(found, where).items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AlertPayloadError(
                fields.member(where, ref), f"must be a number, got {fields.describe(value)}"
            )
