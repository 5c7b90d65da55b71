"""Read models: an incident with its roles and tasks, as templates and cards see it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.durations import KeyTimes
from bot.playbook import COMMANDER, COMMS, Playbook
from storage.tables import Incident, RoleAssignment, Task


def incident_ref(number: int) -> str:
    return f"INC-{number}"


@dataclass(frozen=True, slots=True)
class RoleView:
    key: str
    label: str
    user_id: str | None
    user_name: str


@dataclass(frozen=True, slots=True)
class TaskView:
    number: int
    text: str
    owner_id: str | None
    owner_name: str
    done: bool


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: int
    number: int
    ref: str
    title: str
    summary: str
    severity: str
    status: str
    playbook: str
    private: bool
    drill: bool
    channel_id: str | None
    channel_name: str | None
    declared_at: datetime
    declared_by: str
    latest_update: str
    roles: tuple[RoleView, ...]
    tasks: tuple[TaskView, ...]
    times: KeyTimes
    impact: str | None
    urgency: str | None

    def role(self, key: str) -> RoleView | None:
        return next((r for r in self.roles if r.key == key), None)

    @property
    def commander(self) -> RoleView | None:
        return self.role(COMMANDER)

    @property
    def comms(self) -> RoleView | None:
        return self.role(COMMS)

    @property
    def open_tasks(self) -> tuple[TaskView, ...]:
        return tuple(t for t in self.tasks if not t.done)


def build_view(
    incident: Incident,
    *,
    playbook: Playbook | None,
    roles: Mapping[str, RoleAssignment],
    tasks: Sequence[Task] = (),
) -> IncidentView:
    assert incident.id is not None
    role_keys = list(playbook.roles) if playbook else []
    role_keys += [k for k in roles if k not in role_keys]
    role_views = tuple(
        RoleView(
            key=k,
            label=playbook.role_label(k) if playbook else k,
            user_id=roles[k].user_id if k in roles else None,
            user_name=roles[k].user_name if k in roles else "",
        )
        for k in role_keys
    )
    return IncidentView(
        id=incident.id,
        number=incident.number,
        ref=incident_ref(incident.number),
        title=incident.title,
        summary=incident.summary,
        severity=incident.severity,
        status=incident.status,
        playbook=incident.playbook,
        private=incident.private,
        drill=incident.drill,
        channel_id=incident.channel_id,
        channel_name=incident.channel_name,
        declared_at=incident.declared_at,
        declared_by=incident.declared_by_name or incident.declared_by_id,
        latest_update=incident.latest_update,
        roles=role_views,
        tasks=task_views(tasks),
        times=KeyTimes(
            declared=incident.declared_at,
            acknowledged=incident.identified_at or incident.monitoring_at,
            mitigated=incident.monitoring_at,
            resolved=incident.resolved_at,
        ),
        impact=incident.impact,
        urgency=incident.urgency,
    )


def task_views(tasks: Sequence[Task]) -> tuple[TaskView, ...]:
    return tuple(
        TaskView(
            number=t.number,
            text=t.text,
            owner_id=t.owner_id,
            owner_name=t.owner_name,
            done=t.done,
        )
        for t in tasks
    )
