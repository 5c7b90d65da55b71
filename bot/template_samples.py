"""Sample incidents for `warroom check`: what each template is given, with made-up values.

Two incidents: a full one (roles held, tasks, an update, a matrix, resolved) and a bare
one (nothing assigned, private, a drill, just declared), so that both sides of a
template's usual `if`s are rendered. The variables match what the code passes (the
table in docs/playbooks.md); `tests/test_template_check.py` compares them with the
variables of the templates rendered while a real incident runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alerts.model import Alert, Link
from bot.command_help import SPECS
from bot.paging import Page
from bot.playbook import ChecklistStep, Playbook
from bot.port import UserRef
from bot.service.records import TimelineLine
from bot.summaries import Summary
from bot.views import IncidentView, build_view, incident_ref
from storage.tables import Incident, RoleAssignment, Task, TimelineEntry

AT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ALICE = UserRef("U1", "alice")
BOB = UserRef("U2", "bob")


@dataclass(frozen=True, slots=True)
class _Ref:
    ref: str


def _incident(*, full: bool, playbook: Playbook) -> tuple[Incident, list[Task]]:
    row = Incident(
        id=1,
        number=7,
        title="Checkout errors for EU customers",
        summary="Card payments fail for a third of EU customers." if full else "",
        severity="SEV2",
        status="resolved" if full else "investigating",
        playbook=playbook.name,
        impact="high" if full else None,
        urgency="medium" if full else None,
        private=not full,
        drill=not full,
        declared_by_id=ALICE.id,
        declared_by_name=ALICE.name,
        channel_id="C7",
        channel_name="inc-7-checkout-errors",
        latest_update="Rolled back the deploy; error rate falling" if full else "",
        last_update_at=AT + timedelta(minutes=20) if full else None,
        declared_at=AT,
        identified_at=AT + timedelta(minutes=5) if full else None,
        monitoring_at=AT + timedelta(minutes=25) if full else None,
        resolved_at=AT + timedelta(minutes=41) if full else None,
        updated_at=AT,
    )
    tasks = [
        Task(
            id=1,
            incident_id=1,
            number=1,
            text="Roll back",
            owner_id=BOB.id,
            owner_name="bob",
            done=True,
            created_at=AT,
        ),
        Task(id=2, incident_id=1, number=2, text="Tell support", created_at=AT),
    ]
    return row, tasks if full else []


def incident_view(*, full: bool, playbook: Playbook) -> IncidentView:
    row, tasks = _incident(full=full, playbook=playbook)
    roles = (
        {
            key: RoleAssignment(
                incident_id=1, role=key, user_id=user.id, user_name=user.name, assigned_at=AT
            )
            for key, user in (("commander", ALICE), ("comms", BOB))
        }
        if full
        else {}
    )
    return build_view(row, playbook=playbook, roles=roles, tasks=tasks)


def timeline(view: IncidentView) -> list[TimelineEntry]:
    """A few entries of each sort a postmortem shows."""
    entries: list[tuple[str, UserRef, str, dict[str, Any]]] = [
        ("declared", ALICE, view.title, {}),
        ("chat", BOB, "checking the gateway", {}),
        ("pinned", ALICE, "root cause: a bad config", {}),
        ("update", ALICE, view.latest_update or "investigating", {}),
        ("resolved", ALICE, "rolled back", {}),
    ]
    return [
        TimelineEntry(
            id=i,
            incident_id=1,
            at=AT + timedelta(minutes=i),
            kind=kind,
            actor_id=user.id,
            actor_name=user.name,
            text=text,
            message_id=f"m{i}",
            data=data,
        )
        for i, (kind, user, text, data) in enumerate(entries, start=1)
    ]


def contexts(playbook: Playbook, *, command: str) -> Iterator[dict[str, dict[str, Any]]]:
    """For each sample incident: template name → the variables it is rendered with."""
    for full in (True, False):
        view = incident_view(full=full, playbook=playbook)
        yield _contexts(view, playbook, command=command, full=full)


def _contexts(
    view: IncidentView, playbook: Playbook, *, command: str, full: bool
) -> dict[str, dict[str, Any]]:
    step = playbook.checklist[0] if playbook.checklist else ChecklistStep(text="Check in")
    page = Page(number=1, size=20, total=len(view.tasks))
    reminder: dict[str, Any] = {
        "incident": view,
        "sent": 3 if full else 1,
        "missed": 2 if full else 0,
        "command": command,
        "cadence": "30m" if full else "",
        "since": "1h 30m",
        "last_update": AT if full else None,
        "targets": [ALICE.id, BOB.id] if full else [],
    }
    alert = Alert(
        source="alertmanager",
        key="abc",
        status="firing" if full else "resolved",
        title="High error rate",
        severity="critical" if full else "",
        summary="5xx above 5%" if full else "",
        labels={"service": "checkout"} if full else {},
        links=(Link("Runbook", "https://runbooks.example/checkout"),) if full else (),
        starts_at=AT,
    )
    return {
        "card.j2": {"incident": view, "checklist": playbook.checklist},
        "announcement.j2": {"incident": view},
        "declared.j2": {"incident": view, "announced": full},
        "topic.j2": {"incident": view},
        "update.j2": {"incident": view, "text": "Rolled back", "actor": ALICE, "at": AT},
        "resolved.j2": {"incident": view, "actor": ALICE, "summary": "Bad deploy" if full else ""},
        "reopened.j2": {"incident": view, "actor": ALICE},
        "severity_changed.j2": {
            "actor": ALICE,
            "old": "SEV3",
            "new": "SEV2",
            "escalated": full,
            "reason": "via 🚨 reaction" if full else "",
        },
        "status_changed.j2": {"actor": ALICE, "old": "investigating", "new": "identified"},
        "role_changed.j2": {
            "actor": ALICE,
            "user": BOB,
            "label": "Comms lead",
            "previous": ALICE.id if full else None,
        },
        "reminder.j2": reminder,
        "reminder_escalated.j2": {**reminder, "escalate_to": ["<@U3>", "@oncall-leads"]},
        "checklist_due.j2": {"incident": view, "step": step},
        "summary.j2": {
            "incident": view,
            "summary": Summary(
                changes=["severity SEV3 → SEV2"] if full else [],
                key_messages=["root cause: a bad config"] if full else [],
                tasks_opened=["#2 Tell support"] if full else [],
                message_count=12 if full else 0,
                active=[ALICE.id, BOB.id] if full else [],
            ),
            "heading": "auto" if full else "readin",
            "duration": "41m",
            "total_messages": 12 if full else 0,
        },
        "task_added.j2": {"actor": ALICE, "task": _task(full)},
        "task_done.j2": {"actor": ALICE, "task": _task(full)},
        "tasks.j2": {
            "incident": view,
            "tasks": list(view.tasks),
            "open_count": len(view.open_tasks),
            "page": page,
            "command": command,
        },
        "timeline.j2": {
            "incident": view,
            "entries": [TimelineLine(e.at, e.text) for e in timeline(view)] if full else [],
            "omitted": 3 if full else 0,
            "total": 8 if full else 0,
            "page": Page(number=1, size=20, total=8 if full else 0),
            "command": command,
        },
        "note_added.j2": {"incident": _Ref(incident_ref(view.number))},
        "list.j2": {
            "incidents": [view] if full else [],
            "page": Page(number=1, size=15, total=1 if full else 0),
            "command": command,
        },
        "help.j2": {"specs": list(SPECS.values()), "command": command},
        "help_command.j2": {"spec": next(iter(SPECS.values())), "command": command},
        "error.j2": {
            "message": "There is no task #9.",
            "usage": "task done <n>" if full else "",
            "suggestion": "tasks" if full else "",
        },
        "apology.j2": {
            "reference": "1523ada6",
            "incident_ref": view.ref if full else None,
            "saved": full,
        },
        "effect_failed.j2": {
            "what": "post the update",
            "attempts": 3,
            "error": "channel_not_found",
            "reference": "1523ada6",
            "incident_ref": view.ref if full else None,
        },
        "alert.j2": {
            "alert": alert,
            "event": "attached" if full else "resolved",
            "count": 2 if full else 1,
            "source": alert.source,
        },
    }


def comms_context(view: IncidentView, playbook: Playbook) -> dict[str, Any]:
    """What a playbook's comms template is given (`/incident comms`)."""
    return {
        "incident": view,
        "latest_update": view.latest_update,
        "cadence": "30m" if view.latest_update else "",
        "playbook": playbook.name,
    }


def _task(full: bool) -> Task:
    return Task(
        id=1,
        incident_id=1,
        number=1,
        text="Roll back",
        owner_id=BOB.id if full else None,
        owner_name=BOB.name if full else "",
        done=full,
        created_at=AT,
    )
