"""What Alertmanager's and Grafana's webhooks share: the notification-group envelope and
the Prometheus-style alert (labels, annotations, times, fingerprint). Grafana's payload
is Alertmanager's with additions, so both parsers read these parts the same way."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.alerts import fields
from bot.alerts.model import AlertStatus

log = logging.getLogger("warroom.alerts")


@dataclass(frozen=True, slots=True)
class Envelope:
    root: fields.JsonObject
    group: str
    items: list[object]


def envelope(body: object, *, source: str, version: str) -> Envelope:
    """Check the group's members common to both formats; the alerts are read later."""
    root = fields.as_object(body, "body")
    fields.exact(root, "version", "", version)
    group = fields.group_key(fields.string(root, "groupKey", "", required=True))
    fields.status(root, "status", "")
    fields.string(root, "receiver", "")
    truncated = fields.integer(root, "truncatedAlerts", "")
    if truncated:
        log.warning(
            "%s left %s alerts out of a delivery (its max_alerts); they are not recorded",
            source,
            truncated,
        )
    for name in ("groupLabels", "commonLabels"):
        fields.string_map(root, name, "", limit=fields.MAX_LABEL_VALUE)
    fields.string_map(root, "commonAnnotations", "", limit=None)
    return Envelope(root, group, fields.alert_list(root.get("alerts"), "alerts"))


@dataclass(frozen=True, slots=True)
class Common:
    raw: fields.JsonObject
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    key: str
    summary: str


def common(item: object, path: str) -> Common:
    """One alert's members common to both formats."""
    raw = fields.as_object(item, path)
    status = fields.status(raw, "status", path)
    labels = fields.string_map(raw, "labels", path, limit=fields.MAX_LABEL_VALUE)
    annotations = fields.string_map(raw, "annotations", path, limit=None)
    starts_at = fields.time(raw, "startsAt", path, required=True)
    ends_at = fields.time(raw, "endsAt", path)
    summary = annotations.get("description") or annotations.get("summary", "")
    return Common(
        raw=raw,
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        key=fields.fingerprint(raw, path, labels),
        summary=fields.trim(summary.strip(), fields.MAX_TEXT),
    )
