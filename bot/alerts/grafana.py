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

from bot.alerts import fields, prometheus
from bot.alerts.model import Alert, AlertPayloadError

VERSION = "1"


def parse(body: object) -> list[Alert]:
    """The alerts of one Grafana webhook delivery, in the order they came."""
    group = prometheus.envelope(body, source="Grafana", version=VERSION)
    fields.integer(group.root, "orgId", "")
    for name in ("externalURL", "state", "message"):
        fields.string(group.root, name, "")
    body_title = fields.string(group.root, "title", "")
    return [
        _alert(item, f"alerts[{index}]", group=group.group, body_title=body_title)
        for index, item in enumerate(group.items)
    ]


def _alert(item: object, path: str, *, group: str, body_title: str) -> Alert:
    c = prometheus.common(item, path)
    _check_values(c.raw, path)
    urls = {
        name: fields.string(c.raw, name, path)
        for name in ("generatorURL", "dashboardURL", "panelURL", "silenceURL")
    }
    return Alert(
        source="grafana",
        key=c.key,
        status=c.status,
        title=fields.title(
            c.annotations.get("summary", ""),
            c.labels.get("alertname", ""),
            body_title,
            fallback="Grafana alert",
        ),
        group=group,
        severity=c.labels.get("severity", ""),
        summary=c.summary,
        labels=c.labels,
        annotations=c.annotations,
        links=fields.links(
            ("Source", urls["generatorURL"]),
            ("Dashboard", urls["dashboardURL"]),
            ("Panel", urls["panelURL"]),
            ("Silence", urls["silenceURL"]),
            ("Runbook", c.annotations.get("runbook_url", "")),
        ),
        starts_at=c.starts_at,
        ends_at=c.ends_at,
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
