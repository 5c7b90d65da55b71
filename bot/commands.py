"""The `/incident …` grammar: text -> typed command, with help and "did you mean".

Parsing is syntactic: it knows subcommands, arguments and flags. Values that depend on
configuration (severity names, statuses, roles, playbooks) are checked by the service,
which has the configuration and gives the same kind of specific error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.suggest import closest
from bot.errors import UserError

_USER = re.compile(r"^(<@[!&]?[A-Za-z0-9._-]+(\|[^>]*)?>|@[\w.\-]+)$")
_SEVERITY_LIKE = re.compile(r"^(sev|p)\d+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    usage: str
    summary: str
    needs_incident: bool
    details: str = ""
    examples: tuple[str, ...] = ()


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec(
            "declare",
            "declare [SEVn] <title> [--playbook P] [--impact I --urgency U] "
            "[--commander @user] [--comms @user] [--private] [--drill]",
            "declare an incident and open its channel",
            False,
            "Without a level the playbook's matrix (--impact/--urgency) or the default "
            "level applies. Without --playbook the playbooks' match rules choose.",
            (
                "declare SEV2 Checkout errors",
                "declare Login down --impact high --urgency high",
                "declare SEV1 Leaked API key --playbook security-incident --private",
            ),
        ),
        Spec("sev", "sev <level>", "set the severity", True, "", ("sev SEV1",)),
        Spec("escalate", "escalate", "raise the severity one step", True),
        Spec("deescalate", "deescalate", "lower the severity one step", True),
        Spec(
            "status",
            "status <investigating|identified|monitoring|resolved|closed>",
            "move the incident along its lifecycle",
            True,
            "",
            ("status identified",),
        ),
        Spec(
            "commander",
            "commander @user",
            "assign the incident commander",
            True,
            "",
            ("commander @alice",),
        ),
        Spec("comms", "comms @user", "assign the comms lead", True, "", ("comms @bob",)),
        Spec(
            "role",
            "role <name> @user",
            "assign any other role the playbook defines",
            True,
            "",
            ("role scribe @carol",),
        ),
        Spec(
            "update",
            "update <text>",
            "post a status update (resets the update timer and "
            "is broadcast to the announcement channel)",
            True,
            "",
            ("update Rolled back the deploy; error rate falling",),
        ),
        Spec(
            "note",
            "note <text>",
            "add a note to the timeline",
            True,
            "",
            ("note Suspect the 14:02 config push",),
        ),
        Spec(
            "task",
            "task add <text> [@owner] | task done <n>",
            "manage action items",
            True,
            "",
            ("task add Check the CDN logs @dave", "task done 1"),
        ),
        Spec("tasks", "tasks", "list the incident's tasks", True),
        Spec("timeline", "timeline", "show the timeline", True),
        Spec(
            "resolve",
            "resolve [summary]",
            "resolve the incident",
            True,
            "",
            ("resolve Bad deploy rolled back",),
        ),
        Spec("reopen", "reopen", "reopen a resolved incident", True),
        Spec("list", "list", "list open incidents", False),
        Spec("help", "help [subcommand]", "show help", False, "", ("help declare",)),
    )
}
ALIASES = {
    "severity": "sev",
    "ic": "commander",
    "lead": "commander",
    "ls": "list",
    "downgrade": "deescalate",
    "de-escalate": "deescalate",
    "?": "help",
}


# --- typed commands -------------------------------------------------------------------


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
    pass


@dataclass(frozen=True, slots=True)
class ShowTimeline:
    pass


@dataclass(frozen=True, slots=True)
class Resolve:
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Reopen:
    pass


@dataclass(frozen=True, slots=True)
class ListIncidents:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    topic: str = ""


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
)


# --- parsing --------------------------------------------------------------------------


def is_user_ref(word: str) -> bool:
    return bool(_USER.match(word))


def _err(spec: Spec, message: str, suggestion: str = "") -> UserError:
    return UserError(message, usage=spec.usage, suggestion=suggestion)


def _text(spec: Spec, rest: str, what: str) -> str:
    if not rest.strip():
        raise _err(spec, f"`{spec.name}` needs {what}.")
    return rest.strip()


def _user(spec: Spec, words: list[str], position: str = "") -> str:
    if not words:
        raise _err(spec, f"`{spec.name}` needs a user{position}, like @alice.")
    if len(words) > 1:
        raise _err(spec, f"`{spec.name}` takes one user, got `{' '.join(words)}`.")
    if not is_user_ref(words[0]):
        raise _err(spec, f"`{words[0]}` is not a user. Mention someone, like @alice.")
    return words[0]


def _no_args(spec: Spec, words: list[str]) -> None:
    if words:
        raise _err(spec, f"`{spec.name}` takes no arguments, got `{' '.join(words)}`.")


_DECLARE_VALUE_FLAGS = ("--playbook", "--impact", "--urgency", "--commander", "--comms")
_DECLARE_BOOL_FLAGS = ("--private", "--drill")


def _parse_declare(spec: Spec, words: list[str], severity_names: list[str]) -> Declare:
    values: dict[str, str] = {}
    bools: set[str] = set()
    title_words: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("--"):
            flag = w.split("=", 1)[0].lower()
            inline = w.split("=", 1)[1] if "=" in w else None
            if flag in _DECLARE_BOOL_FLAGS:
                bools.add(flag)
            elif flag in _DECLARE_VALUE_FLAGS:
                if inline is None:
                    if i + 1 >= len(words) or words[i + 1].startswith("--"):
                        raise _err(spec, f"`{flag}` needs a value.")
                    inline = words[i + 1]
                    i += 1
                if flag in values:
                    raise _err(spec, f"`{flag}` is given twice.")
                values[flag] = inline
            else:
                raise _err(
                    spec,
                    f"`{flag}` is not a declare option.",
                    closest(flag, _DECLARE_VALUE_FLAGS + _DECLARE_BOOL_FLAGS),
                )
        else:
            title_words.append(w)
        i += 1

    severity = None
    if title_words:
        first = title_words[0]
        if first.lower() in (n.lower() for n in severity_names):
            severity = title_words.pop(0)
        elif _SEVERITY_LIKE.match(first):
            raise UserError(
                f"`{first}` is not a severity level.",
                usage=" | ".join(severity_names),
                suggestion=closest(first, severity_names),
            )
    if not title_words:
        raise _err(spec, "`declare` needs a title.")
    for flag in ("--commander", "--comms"):
        if flag in values and not is_user_ref(values[flag]):
            raise _err(spec, f"`{flag}` needs a user like @alice, got `{values[flag]}`.")
    if ("--impact" in values) != ("--urgency" in values):
        raise _err(spec, "`--impact` and `--urgency` go together: give both.")
    if severity and "--impact" in values:
        raise _err(spec, "Give either a severity level or --impact/--urgency, not both.")
    return Declare(
        title=" ".join(title_words),
        severity=severity,
        playbook=values.get("--playbook"),
        impact=values.get("--impact"),
        urgency=values.get("--urgency"),
        commander=values.get("--commander"),
        comms=values.get("--comms"),
        private="--private" in bools,
        drill="--drill" in bools,
    )


def _parse_task(spec: Spec, words: list[str]) -> Command:
    if not words:
        raise _err(spec, "`task` needs `add` or `done`.")
    verb, rest = words[0].lower(), words[1:]
    if verb == "add":
        owner = None
        if rest and is_user_ref(rest[-1]):
            owner = rest.pop()
        if not rest:
            raise _err(spec, "`task add` needs the task's text.")
        return AddTask(text=" ".join(rest), owner=owner)
    if verb in ("done", "complete", "close"):
        if len(rest) != 1 or not rest[0].lstrip("#").isdigit():
            raise _err(spec, "`task done` needs a task number, like `task done 2`.")
        return CompleteTask(number=int(rest[0].lstrip("#")))
    raise _err(spec, f"`task {verb}` is not a task command.", closest(verb, ["add", "done"]))


def parse(text: str, *, severity_names: list[str]) -> Command:
    """Parse the text after `/incident`. Raises `UserError` with usage and suggestions."""
    stripped = text.strip()
    if not stripped:
        return Help()
    head, _, rest = stripped.partition(" ")
    words = rest.split()
    name = ALIASES.get(head.lower(), head.lower())
    spec = SPECS.get(name)
    if spec is None:
        raise UserError(
            f"`{head}` is not an incident command.",
            usage="/incident help",
            suggestion=closest(name, [*SPECS, *ALIASES]),
        )
    match name:
        case "declare":
            return _parse_declare(spec, words, severity_names)
        case "sev":
            if len(words) != 1:
                raise _err(spec, "`sev` needs exactly one level.")
            return SetSeverity(level=words[0])
        case "escalate":
            _no_args(spec, words)
            return Escalate()
        case "deescalate":
            _no_args(spec, words)
            return Deescalate()
        case "status":
            if len(words) != 1:
                raise _err(spec, "`status` needs exactly one status.")
            return SetStatus(state=words[0])
        case "commander" | "comms":
            return AssignRole(role=name, user=_user(spec, words))
        case "role":
            if not words:
                raise _err(spec, "`role` needs a role name and a user.")
            return AssignRole(role=words[0].lower(), user=_user(spec, words[1:], " after the role"))
        case "update":
            return PostUpdate(text=_text(spec, rest, "the update's text"))
        case "note":
            return AddNote(text=_text(spec, rest, "the note's text"))
        case "task":
            return _parse_task(spec, words)
        case "tasks":
            _no_args(spec, words)
            return ListTasks()
        case "timeline":
            _no_args(spec, words)
            return ShowTimeline()
        case "resolve":
            return Resolve(summary=rest.strip())
        case "reopen":
            _no_args(spec, words)
            return Reopen()
        case "list":
            _no_args(spec, words)
            return ListIncidents()
        case _:
            if len(words) > 1:
                raise _err(spec, "`help` takes at most one subcommand.")
            return Help(topic=words[0].lower() if words else "")


def needs_incident(command: Command) -> bool:
    return not isinstance(command, Declare | ListIncidents | Help)


def help_spec(topic: str) -> Spec:
    name = ALIASES.get(topic, topic)
    spec = SPECS.get(name)
    if spec is None:
        raise UserError(
            f"There is no `{topic}` subcommand.",
            usage="/incident help",
            suggestion=closest(topic, list(SPECS)),
        )
    return spec


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
}


def name_of(command: Command) -> str:
    """The subcommand a typed command came from (for messages and help)."""
    if isinstance(command, AssignRole):
        return command.role if command.role in ("commander", "comms") else "role"
    return _NAMES[type(command)]
