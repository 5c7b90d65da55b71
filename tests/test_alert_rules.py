"""Playbook alert rules: matching, severity mapping, routing, and validation at load."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.alerts.model import Alert
from bot.alerts.rules import AlertRule, route
from bot.domain.severity import DEFAULT_LEVELS, SeverityScale
from bot.playbooks import PlaybookError, load_playbooks
from tests.conftest import PLAYBOOKS

SCALE = SeverityScale.parse(DEFAULT_LEVELS)


def alert(source: str = "alertmanager", **labels: str) -> Alert:
    return Alert(
        source=source,
        key="k",
        status="firing",
        title="t",
        labels=labels,
        severity=labels.get("severity", ""),
    )


def test_every_match_label_must_fit_and_regexes_match_the_whole_value() -> None:
    rule = AlertRule(match={"service": "checkout", "env": "~prod|staging"})
    assert rule.fits(alert(service="checkout", env="prod")) == 2
    assert rule.fits(alert(service="checkout", env="prod-eu")) is None
    assert rule.fits(alert(service="checkout")) is None
    assert rule.fits(alert(service="payments", env="prod")) is None
    assert AlertRule().fits(alert()) == 0  # no labels: takes everything
    assert AlertRule(sources=["grafana"]).fits(alert()) is None


def test_severity_comes_from_the_map_then_the_level_then_the_default() -> None:
    rule = AlertRule(severity_map={"Critical": "SEV1"}, default_severity="SEV3")
    assert rule.severity(alert(severity="critical"), SCALE).name == "SEV1"  # case-blind
    assert rule.severity(alert(severity="SEV2"), SCALE).name == "SEV2"  # already a level
    assert rule.severity(alert(severity="weird"), SCALE).name == "SEV3"
    assert AlertRule().severity(alert(), SCALE).name == SCALE.default().name
    by_label = AlertRule(severity_label="priority", severity_map={"p1": "SEV1"})
    assert by_label.severity(alert(priority="P1", severity="info"), SCALE).name == "SEV1"


def test_fold_accepts_durations_and_off() -> None:
    assert AlertRule(fold="5m").fold == timedelta(minutes=5)
    assert AlertRule(fold="off").fold == timedelta(0)
    assert AlertRule(fold=2).fold == timedelta(minutes=2)


def test_the_most_specific_rule_wins_across_playbooks() -> None:
    playbooks = load_playbooks(PLAYBOOKS, severities=SCALE)
    routed = route(playbooks, alert(category="security", severity="high"))
    assert routed is not None and routed[0].name == "security-incident"
    routed = route(playbooks, alert(impact="customer"))
    assert routed is not None and routed[0].name == "customer-facing-outage"
    routed = route(playbooks, alert(alertname="DiskFull"))
    assert routed is not None and routed[0].name == "default"  # the catch-all


BASE = "name: p\ndescription: d\nroles: {commander: {label: C}, comms: {label: M}}\n"


@pytest.mark.parametrize(
    ("rules", "field", "reason"),
    [
        ("- severity_map: {critical: SEV9}\n", "alerts[0]", "unknown severity 'SEV9'"),
        ("- default_severity: P0\n", "alerts[0]", "unknown severity 'P0'"),
        ("- match: {env: '~prod('}\n", "alerts[0].match", "bad regular expression"),
        ("- sources: [datadog]\n", "alerts[0].sources", "unknown source 'datadog'"),
        ("- action: page\n", "alerts[0].action", "'declare' or 'attach'"),
        ("- on_resolve: close\n", "alerts[0].on_resolve", "'record' or 'monitoring'"),
        ("- fold: soon\n", "alerts[0].fold", ""),
        ("- matches: {a: b}\n", "alerts[0].matches", "did you mean `match`?"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(
    tmp_path: Path, rules: str, field: str, reason: str
) -> None:
    (tmp_path / "p.yaml").write_text(BASE + "alerts:\n" + rules, encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(tmp_path, severities=SCALE)
    [problem] = caught.value.problems
    assert problem.field == field
    assert reason in problem.reason
