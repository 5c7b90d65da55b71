"""Webhook bodies as the monitoring tools document and send them, for tests and benchmarks.

Each builder returns a fresh JSON-ready dict (safe to mutate) with every member the
format's documentation lists: Prometheus Alertmanager's `webhook_config` payload
(version "4"), Grafana unified alerting's webhook contact point (version "1", Grafana 9+),
and warroom's own generic shape. Times are RFC 3339 strings as the tools write them;
Go's zero time stands for "no end yet".
"""

from __future__ import annotations

import copy
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"
STARTS_AT = "2024-05-14T09:51:03.157076829Z"  # Go writes RFC 3339 with nanoseconds
ENDS_AT = "2024-05-14T10:21:33.480187552Z"
ALERTMANAGER_URL = "http://alertmanager.example.com:9093"
PROMETHEUS_URL = "http://prometheus.example.com:9090"
GRAFANA_URL = "https://grafana.example.com/"

Json = dict[str, Any]


def alertmanager_alert(
    alertname: str = "HighErrorRate",
    *,
    status: str = "firing",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    starts_at: str = STARTS_AT,
    ends_at: str | None = None,
    fingerprint: str | None = "5f2c6e1a9b3d4c70",
    generator_url: str | None = None,
) -> Json:
    """One entry of `alerts[]`; `fingerprint=None` leaves the member out (older versions)."""
    alert: Json = {
        "status": status,
        "labels": {
            "alertname": alertname,
            "instance": "checkout-7d9f:8080",
            "job": "checkout",
            "severity": "critical",
            **(labels or {}),
        },
        "annotations": (
            annotations
            if annotations is not None
            else {
                "summary": "Checkout 5xx rate above 5%",
                "description": "checkout-7d9f:8080 has served 7.2% errors for 5 minutes.",
                "runbook_url": "https://runbooks.example.com/checkout/high-error-rate",
            }
        ),
        "startsAt": starts_at,
        "endsAt": ends_at
        if ends_at is not None
        else (ENDS_AT if status == "resolved" else ZERO_TIME),
        "generatorURL": generator_url
        if generator_url is not None
        else f"{PROMETHEUS_URL}/graph?g0.expr=job%3Acheckout_5xx_ratio%3Arate5m+%3E+0.05&g0.tab=1",
    }
    if fingerprint is not None:
        alert["fingerprint"] = fingerprint
    return alert


def alertmanager_payload(
    alerts: list[Json] | None = None,
    *,
    group_key: str = '{}/{team="payments"}:{alertname="HighErrorRate"}',
    status: str | None = None,
    receiver: str = "warroom",
    external_url: str = ALERTMANAGER_URL,
    truncated_alerts: int = 0,
) -> Json:
    """A whole delivery; `status` is "firing" when any alert fires, unless given."""
    alerts = copy.deepcopy(alerts) if alerts is not None else [alertmanager_alert()]
    firing = any(alert.get("status") == "firing" for alert in alerts)
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": truncated_alerts,
        "status": status or ("firing" if firing or not alerts else "resolved"),
        "receiver": receiver,
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": _common(alerts, "labels"),
        "commonAnnotations": _common(alerts, "annotations"),
        "externalURL": external_url,
        "alerts": alerts,
    }


def grafana_alert(
    alertname: str = "High memory usage",
    *,
    status: str = "firing",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    starts_at: str = "2024-05-14T11:51:03.157076+02:00",
    ends_at: str | None = None,
    fingerprint: str | None = "c6eadffa33fcdf37",
    values: dict[str, float] | None = None,
    dashboard_url: str = f"{GRAFANA_URL}d/node-exporter/node-exporter?orgId=1",
    panel_url: str = f"{GRAFANA_URL}d/node-exporter/node-exporter?orgId=1&viewPanel=4",
) -> Json:
    """One entry of Grafana's `alerts[]`; `fingerprint=None` leaves the member out."""
    alert: Json = {
        "status": status,
        "labels": {
            "alertname": alertname,
            "grafana_folder": "Infrastructure",
            "team": "blue",
            "zone": "us-1",
            **(labels or {}),
        },
        "annotations": (
            annotations
            if annotations is not None
            else {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.example.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            }
        ),
        "startsAt": starts_at,
        "endsAt": ends_at
        if ends_at is not None
        else (ENDS_AT if status == "resolved" else ZERO_TIME),
        "generatorURL": f"{GRAFANA_URL}alerting/grafana/1afz29v7z/view?orgId=1",
        "silenceURL": (
            f"{GRAFANA_URL}alerting/silence/new?alertmanager=grafana"
            "&matcher=alertname%3DHigh+memory+usage&matcher=team%3Dblue&matcher=zone%3Dus-1"
        ),
        "dashboardURL": dashboard_url,
        "panelURL": panel_url,
        "values": values if values is not None else {"B": 44.23943737541908, "C": 1},
        "valueString": "[ var='B' labels={zone=us-1} value=44.23943737541908 ]",
    }
    if fingerprint is not None:
        alert["fingerprint"] = fingerprint
    return alert


def grafana_payload(
    alerts: list[Json] | None = None,
    *,
    group_key: str = '{}/{__grafana_autogenerated__="true"}:{alertname="High memory usage"}',
    status: str | None = None,
    title: str | None = None,
    receiver: str = "warroom webhook",
    org_id: int = 1,
    truncated_alerts: int = 0,
) -> Json:
    """A whole Grafana delivery; status, state, title and message follow the alerts."""
    alerts = copy.deepcopy(alerts) if alerts is not None else [grafana_alert()]
    firing = sum(1 for alert in alerts if alert.get("status") == "firing")
    state = status or ("firing" if firing or not alerts else "resolved")
    headline = f"[FIRING:{firing}]" if state == "firing" else f"[RESOLVED:{len(alerts)}]"
    return {
        "receiver": receiver,
        "status": state,
        "orgId": org_id,
        "alerts": alerts,
        "groupLabels": {"alertname": "High memory usage"},
        "commonLabels": _common(alerts, "labels"),
        "commonAnnotations": _common(alerts, "annotations"),
        "externalURL": GRAFANA_URL,
        "version": "1",
        "groupKey": group_key,
        "truncatedAlerts": truncated_alerts,
        "title": title if title is not None else f"{headline} High memory usage (blue us-1)",
        "state": "alerting" if state == "firing" else "ok",
        "message": f"**{state.title()}**\n\nValue: B=44.24\nLabels:\n - team = blue\n",
    }


def generic_payload(
    title: str = "Checkout error rate above 5%",
    dedup_key: str = "checkout-5xx",
    **members: Any,
) -> Json:
    """warroom's generic shape: the two required members plus any others given."""
    return {"title": title, "dedup_key": dedup_key, **members}


def generic_full_payload(status: str = "firing") -> Json:
    """A generic alert with every documented member filled in."""
    return generic_payload(
        status=status,
        severity="critical",
        summary="5xx ratio is 7.2% over the last 5 minutes.",
        source="datadog",
        labels={"service": "checkout", "env": "prod"},
        links=[
            {"label": "Monitor", "url": "https://app.datadoghq.com/monitors/123456"},
            "https://status.example.com/checkout",
        ],
    )


def many_alerts(source: str, count: int) -> Any:
    """A delivery of `count` distinct firing alerts in `source`'s format (for benchmarks)."""
    if source == "generic":
        return [generic_payload(f"Alert {n}", f"key-{n}", severity="warning") for n in range(count)]
    labels = [{"instance": f"node-{n}"} for n in range(count)]
    if source == "alertmanager":
        return alertmanager_payload(
            [
                alertmanager_alert(labels=one, fingerprint=f"{n:016x}")
                for n, one in enumerate(labels)
            ]
        )
    if source == "grafana":
        return grafana_payload(
            [grafana_alert(labels=one, fingerprint=f"{n:016x}") for n, one in enumerate(labels)]
        )
    raise ValueError(f"unknown source {source!r}")


def _common(alerts: list[Json], member: str) -> dict[str, str]:
    """The pairs every alert shares, as in `commonLabels` and `commonAnnotations`."""
    maps = [alert.get(member) or {} for alert in alerts]
    if not maps:
        return {}
    return {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])}
