"""Playbooks: the pydantic schema of a playbook file.

A playbook defines the roles, cadences, checklist, channel naming, announcement channel,
pre-approved communications and the postmortem template of one kind of incident.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from bot.alerts.rules import AlertRule
from bot.domain.durations import parse_duration
from bot.domain.severity import SeverityMatrix

COMMANDER = "commander"
COMMS = "comms"
REQUIRED_ROLES = (COMMANDER, COMMS)


def _duration(value: object) -> timedelta | None:
    if value is None or value is False or isinstance(value, timedelta):
        # YAML reads an unquoted `off`/`no` as false: that means "no cadence" too.
        return value or None
    if value is True:
        raise ValueError("use a duration like 15m, or none")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("must be longer than zero; use none for no cadence")
        return timedelta(minutes=value)
    return parse_duration(str(value))


Duration = timedelta | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchRules(_Strict):
    """How `declare` picks this playbook when none is named."""

    keywords: list[str] = []
    severities: list[str] = []
    default: bool = False

    def score(self, *, title: str, severity: str | None) -> int:
        text = title.lower()
        hits = sum(1 for k in self.keywords if k.lower() in text)
        if (
            severity
            and self.severities
            and severity.lower() in (s.lower() for s in self.severities)
        ):
            hits += 1
        return hits


class RoleSpec(_Strict):
    label: str
    description: str = ""
    default_assignee: str | None = None


class ChecklistStep(_Strict):
    text: str
    after: Duration = None

    @field_validator("after", mode="before")
    @classmethod
    def _parse_after(cls, v: object) -> timedelta | None:
        return _duration(v)


class ReminderSpec(_Strict):
    """How missed updates escalate."""

    escalate_after: int = 2
    escalate_to: list[str] = []  # role names (commander, …) or users/groups (@oncall-leads)
    include_drills: bool = False

    @field_validator("escalate_after")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be 1 or more")
        return v


class ChannelSpec(_Strict):
    name_template: str = "inc-{number}-{slug}"
    private: bool = False

    @field_validator("name_template")
    @classmethod
    def _check_template(cls, v: str) -> str:
        try:
            v.format(number=1, slug="x", severity="SEV1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"unknown placeholder {exc}; use {{number}}, {{slug}} and {{severity}}"
            ) from None
        if "{number}" not in v:
            raise ValueError("must contain {number} so that channel names are unique")
        return v


class MatrixSpec(_Strict):
    impact: list[str]
    urgency: list[str]
    severity: dict[str, dict[str, str]]

    @model_validator(mode="after")
    def _complete(self) -> MatrixSpec:
        for imp in self.impact:
            row = self.severity.get(imp)
            if row is None:
                raise ValueError(f"severity has no row for impact {imp!r}")
            missing = [u for u in self.urgency if u not in row]
            if missing:
                raise ValueError(f"severity[{imp!r}] has no entry for urgency {missing[0]!r}")
        return self

    def to_matrix(self) -> SeverityMatrix:
        return SeverityMatrix(
            impacts=[i.lower() for i in self.impact],
            urgencies=[u.lower() for u in self.urgency],
            cells={
                i.lower(): {u.lower(): s for u, s in row.items()}
                for i, row in self.severity.items()
            },
        )


class Playbook(_Strict):
    name: str
    description: str
    match: MatchRules = MatchRules()
    roles: dict[str, RoleSpec]
    responders: list[str] = []
    update_cadence: dict[str, Duration] = {}
    summary_cadence: Duration = None
    reminders: ReminderSpec = ReminderSpec()
    checklist: list[ChecklistStep] = []
    channel: ChannelSpec = ChannelSpec()
    announce_channel: str | None = None
    matrix: MatrixSpec | None = None
    comms: dict[str, str] = {}
    postmortem_template: str = "postmortem.md.j2"
    alerts: list[AlertRule] = []

    @field_validator("name")
    @classmethod
    def _slug_name(cls, v: str) -> str:
        if not v or not all(c.isalnum() or c in "-_" for c in v):
            raise ValueError("use letters, digits, '-' and '_' only")
        return v

    @field_validator("update_cadence", mode="before")
    @classmethod
    def _parse_cadence(cls, v: object) -> object:
        if isinstance(v, dict):
            return {str(k): _duration(d) for k, d in v.items()}
        return v

    @field_validator("summary_cadence", mode="before")
    @classmethod
    def _parse_summary(cls, v: object) -> timedelta | None:
        return _duration(v)

    @field_validator("roles")
    @classmethod
    def _required_roles(cls, v: dict[str, RoleSpec]) -> dict[str, RoleSpec]:
        missing = [r for r in REQUIRED_ROLES if r not in v]
        if missing:
            raise ValueError(f"must define the {' and '.join(missing)} role")
        for key in v:
            if not key.replace("_", "").replace("-", "").isalnum() or key != key.lower():
                raise ValueError(f"role name {key!r}: use lowercase letters, digits, '-', '_'")
        return v

    def cadence(self, severity: str) -> timedelta | None:
        """How often an update is owed at this severity (None: no reminders)."""
        for level, every in self.update_cadence.items():
            if level.lower() == severity.lower():
                return every
        return None

    def role_label(self, role: str) -> str:
        spec = self.roles.get(role)
        return spec.label if spec else role
