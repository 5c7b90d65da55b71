"""Monitoring webhook bodies become `Alert`s; malformed ones name the exact bad field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.alerts import formats
from bot.alerts.model import SOURCES, Alert, AlertPayloadError, Link
from tests.alert_payloads import (
    ALERTMANAGER_URL,
    ZERO_TIME,
    alertmanager_alert,
    alertmanager_payload,
    generic_full_payload,
    generic_payload,
    grafana_alert,
    grafana_payload,
    many_alerts,
)


def one(source: str, body: object) -> Alert:
    alerts = formats.parse(source, body)
    assert len(alerts) == 1
    return alerts[0]


# Alertmanager


def test_alertmanager_firing_alert_carries_everything_documented() -> None:
    body = alertmanager_payload()
    alert = one("alertmanager", body)
    assert alert.source == "alertmanager"
    assert alert.key == "5f2c6e1a9b3d4c70"
    assert alert.group == '{}/{team="payments"}:{alertname="HighErrorRate"}'
    assert alert.status == "firing"
    assert alert.title == "Checkout 5xx rate above 5%"
    assert alert.severity == "critical"
    assert alert.summary == "checkout-7d9f:8080 has served 7.2% errors for 5 minutes."
    assert alert.labels == body["alerts"][0]["labels"]
    assert alert.annotations == body["alerts"][0]["annotations"]
    assert [link.label for link in alert.links] == ["Source", "Runbook", "Alertmanager"]
    assert alert.links[1] == Link(
        "Runbook", "https://runbooks.example.com/checkout/high-error-rate"
    )
    assert alert.links[2].url == ALERTMANAGER_URL
    assert alert.starts_at == datetime(2024, 5, 14, 9, 51, 3, 157076, tzinfo=UTC)
    assert alert.ends_at is None  # the zero endsAt of a firing alert


def test_alertmanager_resolved_alert_has_its_end() -> None:
    alert = one("alertmanager", alertmanager_payload([alertmanager_alert(status="resolved")]))
    assert alert.status == "resolved"
    assert alert.ends_at == datetime(2024, 5, 14, 10, 21, 33, 480187, tzinfo=UTC)


def test_alertmanager_mixed_group_keeps_order_and_statuses() -> None:
    body = alertmanager_payload(
        [
            alertmanager_alert(fingerprint="aaaaaaaaaaaaaaaa"),
            alertmanager_alert(status="resolved", fingerprint="bbbbbbbbbbbbbbbb"),
        ]
    )
    alerts = formats.parse("alertmanager", body)
    assert [(a.key, a.status) for a in alerts] == [
        ("aaaaaaaaaaaaaaaa", "firing"),
        ("bbbbbbbbbbbbbbbb", "resolved"),
    ]
    assert {a.group for a in alerts} == {body["groupKey"]}


def test_alertmanager_title_falls_back_to_alertname_and_instance() -> None:
    alert = one("alertmanager", alertmanager_payload([alertmanager_alert(annotations={})]))
    assert alert.title == "HighErrorRate on checkout-7d9f:8080"
    assert alert.summary == ""
    assert [link.label for link in alert.links] == ["Source", "Alertmanager"]
    bare = alertmanager_alert(annotations={})
    del bare["labels"]["instance"]
    assert one("alertmanager", alertmanager_payload([bare])).title == "HighErrorRate"


def test_alertmanager_without_fingerprint_gets_a_stable_label_key() -> None:
    first = alertmanager_alert(fingerprint=None)
    reordered = alertmanager_alert(fingerprint=None)
    reordered["labels"] = dict(reversed(list(first["labels"].items())))
    other = alertmanager_alert(fingerprint=None, labels={"instance": "checkout-1111:8080"})
    keys = [one("alertmanager", alertmanager_payload([a])).key for a in (first, reordered, other)]
    assert keys[0].startswith("labels-sha256:") and len(keys[0]) == len("labels-sha256:") + 64
    assert keys[0] == keys[1]  # the order of labels does not matter
    assert keys[0] != keys[2]
    assert one("alertmanager", alertmanager_payload([first])).key == keys[0]  # across calls
    empty = alertmanager_alert(fingerprint="")
    assert one("alertmanager", alertmanager_payload([empty])).key == keys[0]


def test_zero_and_missing_end_times_are_none() -> None:
    for ends_at in (ZERO_TIME, "0001-01-01T00:00:00.000Z"):
        body = alertmanager_payload([alertmanager_alert(ends_at=ends_at)])
        assert one("alertmanager", body).ends_at is None
    body = alertmanager_payload()
    del body["alerts"][0]["endsAt"]
    assert one("alertmanager", body).ends_at is None


def test_odd_or_empty_urls_are_left_out_of_links_but_kept_in_annotations() -> None:
    annotations = {"summary": "s", "runbook_url": "wiki/checkout"}
    alert_ = alertmanager_alert(annotations=annotations, generator_url="")
    alert = one("alertmanager", alertmanager_payload([alert_], external_url=""))
    assert alert.links == ()
    assert alert.annotations["runbook_url"] == "wiki/checkout"


def test_long_values_are_trimmed_or_hashed() -> None:
    long_summary = "Disk almost full " * 40
    body = alertmanager_payload(
        [alertmanager_alert(annotations={"summary": long_summary})], group_key="{}:" + "x" * 300
    )
    alert = one("alertmanager", body)
    assert len(alert.title) <= 200 and alert.title.endswith("almost…")
    assert alert.group.startswith("group-sha256:")
    assert one("alertmanager", body).group == alert.group


def test_empty_alert_lists_give_no_alerts() -> None:
    assert formats.parse("alertmanager", alertmanager_payload([])) == []
    assert formats.parse("grafana", grafana_payload([])) == []
    assert formats.parse("generic", []) == []


# Grafana


def test_grafana_firing_alert_follows_the_documented_example() -> None:
    body = grafana_payload()
    alert = one("grafana", body)
    assert alert.source == "grafana"
    assert alert.key == "c6eadffa33fcdf37"
    assert alert.group == body["groupKey"]
    assert alert.status == "firing"
    assert alert.title == "This alert was triggered for zone us-1"
    assert alert.summary == "The system has high memory usage"
    assert alert.severity == ""
    assert alert.labels["grafana_folder"] == "Infrastructure"
    assert [link.label for link in alert.links] == [
        "Source",
        "Dashboard",
        "Panel",
        "Silence",
        "Runbook",
    ]
    # Grafana writes local offsets; they come out in UTC.
    assert alert.starts_at == datetime(2024, 5, 14, 9, 51, 3, 157076, tzinfo=UTC)
    assert alert.ends_at is None


def test_grafana_resolved_alert_without_dashboard_links() -> None:
    resolved = grafana_alert(
        status="resolved", dashboard_url="", panel_url="", labels={"severity": "warning"}
    )
    alert = one("grafana", grafana_payload([resolved]))
    assert alert.status == "resolved"
    assert alert.severity == "warning"
    assert alert.ends_at is not None
    assert [link.label for link in alert.links] == ["Source", "Silence", "Runbook"]


def test_grafana_title_falls_back_to_alertname_then_the_body_title() -> None:
    no_summary = grafana_alert(annotations={})
    assert one("grafana", grafana_payload([no_summary])).title == "High memory usage"
    nameless = grafana_alert(annotations={})
    del nameless["labels"]["alertname"]
    body = grafana_payload([nameless], title="[FIRING:1]  (blue us-1)")
    assert one("grafana", body).title == "[FIRING:1] (blue us-1)"


def test_grafana_without_fingerprint_and_with_null_values() -> None:
    first = grafana_alert(fingerprint=None)
    first["values"] = None
    key = one("grafana", grafana_payload([first])).key
    assert key.startswith("labels-sha256:")
    assert one("grafana", grafana_payload([grafana_alert(fingerprint=None)])).key == key


# Generic


def test_generic_minimal_alert_takes_the_defaults() -> None:
    alert = one("generic", generic_payload())
    assert alert == Alert(
        source="generic",
        key="checkout-5xx",
        status="firing",
        title="Checkout error rate above 5%",
    )


def test_generic_full_alert() -> None:
    alert = one("generic", generic_full_payload(status="resolved"))
    assert alert.status == "resolved"
    assert alert.severity == "critical"
    assert alert.summary.startswith("5xx ratio")
    assert alert.labels == {"service": "checkout", "env": "prod"}
    assert alert.annotations == {"source": "datadog"}
    assert alert.links == (
        Link("Monitor", "https://app.datadoghq.com/monitors/123456"),
        Link("Link", "https://status.example.com/checkout"),
    )


def test_generic_batch_ignores_unknown_members_and_trims_titles() -> None:
    body = [
        generic_payload("  A\n title  ", "a", priority="P1", extra={"x": 1}),
        generic_payload("T" * 500, "b", status="resolved"),
    ]
    first, second = formats.parse("generic", body)
    assert (first.title, first.key) == ("A title", "a")
    assert len(second.title) == 200 and second.status == "resolved"


# formats


def test_every_source_has_a_parser_and_unknown_sources_are_refused() -> None:
    assert set(formats.PARSERS) == set(SOURCES)
    with pytest.raises(KeyError, match="pagerduty"):
        formats.parse("pagerduty", {})


@pytest.mark.parametrize("source", SOURCES)
def test_a_delivery_holds_at_most_the_limit(source: str) -> None:
    limit = formats.MAX_ALERTS_PER_DELIVERY
    assert limit == 1000
    assert len(formats.parse(source, many_alerts(source, limit))) == limit
    with pytest.raises(AlertPayloadError, match="at most 1000") as caught:
        formats.parse(source, many_alerts(source, limit + 1))
    assert caught.value.field == "alerts"


# Malformed bodies: (source, how to spoil a good body, the field the error names)

Spoil = Callable[[Any], object]


def _set(path: str, value: object) -> Spoil:
    """Replace (or, with `...`, delete) the member at a dotted path like `alerts.0.labels`."""

    def spoil(body: Any) -> object:
        *parents, last = path.split(".")
        target = body
        for step in parents:
            target = target[int(step)] if isinstance(target, list) else target[step]
        if value is ...:
            del target[int(last) if isinstance(target, list) else last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return body

    return spoil


def _whole(value: object) -> Spoil:
    return lambda _body: value


AM, GF, GN = "alertmanager", "grafana", "generic"
MALFORMED: list[tuple[str, Spoil, str]] = [
    (AM, _whole("not json object"), "body"),
    (AM, _whole([alertmanager_payload()]), "body"),
    (AM, _set("version", "3"), "version"),
    (AM, _set("version", 4), "version"),
    (AM, _set("version", ...), "version"),
    (AM, _set("groupKey", ...), "groupKey"),
    (AM, _set("status", "pending"), "status"),
    (AM, _set("truncatedAlerts", -1), "truncatedAlerts"),
    (AM, _set("commonLabels", ["a"]), "commonLabels"),
    (AM, _set("alerts", ...), "alerts"),
    (AM, _set("alerts", {"0": {}}), "alerts"),
    (AM, _set("alerts.0", "alert"), "alerts[0]"),
    (AM, _set("alerts.0.status", None), "alerts[0].status"),
    (AM, _set("alerts.0.labels", "a=b"), "alerts[0].labels"),
    (AM, _set("alerts.0.labels.severity", 2), "alerts[0].labels.severity"),
    (AM, _set("alerts.0.labels.team name", True), 'alerts[0].labels["team name"]'),
    (AM, _set("alerts.0.labels.", "x"), 'alerts[0].labels[""]'),
    (AM, _set("alerts.0.labels.job", "j" * 3000), "alerts[0].labels.job"),
    (AM, _set("alerts.0.annotations.summary", {"en": "x"}), "alerts[0].annotations.summary"),
    (AM, _set("alerts.0.startsAt", ...), "alerts[0].startsAt"),
    (AM, _set("alerts.0.startsAt", 1715680263), "alerts[0].startsAt"),
    (AM, _set("alerts.0.startsAt", "2024-05-14 09:51"), "alerts[0].startsAt"),
    (AM, _set("alerts.0.endsAt", "2024-05-14T09:51:03"), "alerts[0].endsAt"),  # no zone
    (AM, _set("alerts.0.endsAt", "2024-13-45T09:51:03Z"), "alerts[0].endsAt"),
    (AM, _set("alerts.0.endsAt", "9999-12-31T23:00:00-02:00"), "alerts[0].endsAt"),
    (AM, _set("alerts.0.generatorURL", 7), "alerts[0].generatorURL"),
    (AM, _set("alerts.0.fingerprint", 123), "alerts[0].fingerprint"),
    (AM, _set("alerts.0.fingerprint", "f" * 256), "alerts[0].fingerprint"),
    (GF, _whole(None), "body"),
    (GF, _set("version", "0"), "version"),
    (GF, _set("orgId", "1"), "orgId"),
    (GF, _set("title", 5), "title"),
    (GF, _set("alerts.1", None), "alerts[1]"),
    (GF, _set("alerts.0.status", "alerting"), "alerts[0].status"),
    (GF, _set("alerts.0.values", [1.5]), "alerts[0].values"),
    (GF, _set("alerts.0.values.B", "44"), "alerts[0].values.B"),
    (GF, _set("alerts.0.dashboardURL", 3), "alerts[0].dashboardURL"),
    (GF, _set("alerts.0.annotations.runbook_url", ["x"]), "alerts[0].annotations.runbook_url"),
    (GN, _whole("title"), "body"),
    (GN, _whole(42), "body"),
    (GN, _set("title", ...), "title"),
    (GN, _set("title", "   "), "title"),
    (GN, _set("title", 1), "title"),
    (GN, _set("dedup_key", ...), "dedup_key"),
    (GN, _set("dedup_key", ""), "dedup_key"),
    (GN, _set("dedup_key", "k" * 256), "dedup_key"),
    (GN, _set("status", "open"), "status"),
    (GN, _set("severity", 1), "severity"),
    (GN, _set("summary", ["a"]), "summary"),
    (GN, _set("source", {"name": "datadog"}), "source"),
    (GN, _set("labels", "service=checkout"), "labels"),
    (GN, _set("labels.env", 1), "labels.env"),
    (GN, _set("links", "https://example.com"), "links"),
    (GN, _set("links.0", 5), "links[0]"),
    (GN, _set("links.1", "ftp://example.com/x"), "links[1]"),
    (GN, _set("links.0.url", ...), "links[0].url"),
    (GN, _set("links.0.url", "javascript:alert(1)"), "links[0].url"),
    (GN, _set("links.0.label", 3), "links[0].label"),
    (GN, lambda body: [body, {"title": "t"}], "[1].dedup_key"),
    (GN, lambda body: [body, "x"], "[1]"),
]

GOOD: dict[str, Callable[[], Any]] = {
    AM: alertmanager_payload,
    GF: lambda: grafana_payload([grafana_alert(), grafana_alert(fingerprint="0123456789abcdef")]),
    GN: generic_full_payload,
}


@pytest.mark.parametrize(
    ("source", "spoil", "field"),
    MALFORMED,
    ids=[f"{source}:{field}:{n}" for n, (source, _, field) in enumerate(MALFORMED)],
)
def test_malformed_bodies_name_the_bad_field(source: str, spoil: Spoil, field: str) -> None:
    body = spoil(GOOD[source]())
    with pytest.raises(AlertPayloadError) as caught:
        formats.parse(source, body)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_problems_say_what_was_expected_and_what_came() -> None:
    body = alertmanager_payload()
    spoiled = alertmanager_alert()
    spoiled["labels"]["severity"] = 3
    body["alerts"].append(spoiled)
    with pytest.raises(AlertPayloadError) as caught:
        formats.parse("alertmanager", body)
    assert caught.value.field == "alerts[1].labels.severity"
    assert caught.value.problem == "must be a string, got a number"
    with pytest.raises(AlertPayloadError, match=r'must be "4", got "3"'):
        formats.parse("alertmanager", alertmanager_payload() | {"version": "3"})


def test_the_good_bodies_of_the_malformed_table_parse() -> None:
    for source, build in GOOD.items():
        assert formats.parse(source, build())
