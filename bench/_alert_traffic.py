"""The benchmark's traffic: Alertmanager v4 webhook bodies, seeded, in sending order.

Each request is one delivery of `per_request` alerts. An alert carries a NEW fingerprint
with probability `NEW_SHARE`, else it repeats one sent earlier; each fingerprint belongs
to one notification group (see `bench/alert_intake.py` for the whole design).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

NEW_SHARE = 0.2
STARTS_AT = "2024-05-14T09:51:03.157076829Z"
ZERO_TIME = "0001-01-01T00:00:00Z"
EXTERNAL_URL = "http://alertmanager.example.com:9093"

Json = dict[str, Any]


def _alert(fingerprint: int, group: str) -> Json:
    """One `alerts[]` entry of an Alertmanager v4 webhook, every documented member set."""
    instance = f"node-{fingerprint}:9100"
    return {
        "status": "firing",
        "labels": {
            "alertname": f"Alert-{group}",
            "instance": instance,
            "job": "node",
            "severity": "warning",
        },
        "annotations": {
            "summary": f"Alert-{group} firing on {instance}",
            "description": f"{instance} has been over its threshold for 5 minutes.",
            "runbook_url": f"https://runbooks.example.com/alert-{group}",
        },
        "startsAt": STARTS_AT,
        "endsAt": ZERO_TIME,
        "generatorURL": f"http://prometheus.example.com:9090/graph?g0.expr=alert_{group}&g0.tab=1",
        "fingerprint": f"{fingerprint:016x}",
    }


def _payload(group: str, alerts: list[Json]) -> Json:
    """A whole Alertmanager v4 delivery of one notification group."""
    labels = {"alertname": f"Alert-{group}", "job": "node", "severity": "warning"}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="Alert-{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "warroom",
        "groupLabels": {"alertname": f"Alert-{group}"},
        "commonLabels": labels if len(alerts) > 1 else alerts[0]["labels"],
        "commonAnnotations": {} if len(alerts) > 1 else alerts[0]["annotations"],
        "externalURL": EXTERNAL_URL,
        "alerts": alerts,
    }


@dataclass
class Traffic:
    """The request bodies, in sending order, and what they should leave behind."""

    bodies: list[bytes] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)  # per request
    groups: set[str] = field(default_factory=set)
    fingerprints: int = 0

    def count(self, start: int, stop: int) -> int:
        return sum(self.alerts[start:stop])


def traffic(
    total: int, *, per_request: int, groups: int | None, rng: random.Random, prefix: str
) -> Traffic:
    """`total` alerts in requests of `per_request`. `groups=None`: each new fingerprint is
    its own group (the worst case)."""
    out = Traffic()
    group_of: list[str] = []  # by fingerprint
    members: dict[str, list[int]] = {}

    def new(group: str | None) -> int:
        if group is None:
            group = f"{prefix}{len(group_of) if groups is None else rng.randrange(groups)}"
        fp = len(group_of)
        group_of.append(group)
        members.setdefault(group, []).append(fp)
        return fp

    sent = 0
    while sent < total:
        size = min(per_request, total - sent)
        fresh = not group_of or rng.random() < NEW_SHARE
        first = new(None) if fresh else rng.randrange(len(group_of))
        group = group_of[first]
        chosen = [first]
        for _ in range(size - 1):
            pool = [fp for fp in members[group] if fp not in chosen]
            if not pool or rng.random() < NEW_SHARE:
                chosen.append(new(group))
            else:
                chosen.append(rng.choice(pool))
        body = _payload(group, [_alert(fp, group) for fp in chosen])
        out.bodies.append(json.dumps(body).encode())
        out.alerts.append(size)
        out.groups.add(group)
        sent += size
    out.fingerprints = len(group_of)
    return out
