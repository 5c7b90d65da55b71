"""Typed commands: what the `/incident` grammar parses text into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Declare:
    title: str
    severity: str | None = None
    playbook: str | None = None
    impact: str | None = None
    urgency: str | None = None
    commander: str | None = None
    comms: str | None = None
    summary: str = ""
    private: bool = False
    drill: bool = False


@dataclass(frozen=True, slots=True)
class SetSeverity:
    level: str


@dataclass(frozen=True, slots=True)
class Escalate:
    pass


@dataclass(frozen=True, slots=True)
class Deescalate:
    pass


@dataclass(frozen=True, slots=True)
class SetStatus:
    state: str


@dataclass(frozen=True, slots=True)
class AssignRole:
    role: str
    user: str


@dataclass(frozen=True, slots=True)
class PostUpdate:
    text: str


@dataclass(frozen=True, slots=True)
class AddNote:
    text: str


@dataclass(frozen=True, slots=True)
class AddTask:
    text: str
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class CompleteTask:
    number: int


@dataclass(frozen=True, slots=True)
class ListTasks:
    page: int = 1


@dataclass(frozen=True, slots=True)
class ShowTimeline:
    page: int = 1


@dataclass(frozen=True, slots=True)
class Resolve:
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Reopen:
    pass


@dataclass(frozen=True, slots=True)
class ListIncidents:
    page: int = 1


@dataclass(frozen=True, slots=True)
class Help:
    topic: str = ""


@dataclass(frozen=True, slots=True)
class Snooze:
    duration: timedelta


@dataclass(frozen=True, slots=True)
class ShowSummary:
    pass


@dataclass(frozen=True, slots=True)
class MakePostmortem:
    pass


@dataclass(frozen=True, slots=True)
class RenderComms:
    template: str | None = None
    post: bool = False


Command = (
    Declare
    | SetSeverity
    | Escalate
    | Deescalate
    | SetStatus
    | AssignRole
    | PostUpdate
    | AddNote
    | AddTask
    | CompleteTask
    | ListTasks
    | ShowTimeline
    | Resolve
    | Reopen
    | ListIncidents
    | Help
    | Snooze
    | ShowSummary
    | MakePostmortem
    | RenderComms
)


_NAMES: dict[type, str] = {
    Declare: "declare",
    SetSeverity: "sev",
    Escalate: "escalate",
    Deescalate: "deescalate",
    SetStatus: "status",
    PostUpdate: "update",
    AddNote: "note",
    AddTask: "task",
    CompleteTask: "task",
    ListTasks: "tasks",
    ShowTimeline: "timeline",
    Resolve: "resolve",
    Reopen: "reopen",
    ListIncidents: "list",
    Help: "help",
    Snooze: "snooze",
    ShowSummary: "summary",
    MakePostmortem: "postmortem",
    RenderComms: "comms",
}


def name_of(command: Command) -> str:
    """The subcommand a typed command came from (for messages and help)."""
    if isinstance(command, AssignRole):
        return command.role if command.role in ("commander", "comms") else "role"
    return _NAMES[type(command)]
