"""The `/incident …` grammar: text -> typed command, with help and "did you mean".

Parsing is syntactic: it knows subcommands, arguments and flags. Values that depend on
configuration (severity names, statuses, roles, playbooks) are checked by the service,
which has the configuration and gives the same kind of specific error.
"""

from __future__ import annotations

from bot.command_declare import parse_declare
from bot.command_help import ALIASES, SPECS, Spec, help_spec
from bot.command_types import (
    AddNote,
    AddTask,
    AssignRole,
    Command,
    CompleteTask,
    Declare,
    Deescalate,
    Escalate,
    Help,
    ListIncidents,
    ListTasks,
    MakePostmortem,
    PostUpdate,
    RenderComms,
    Reopen,
    Resolve,
    SetSeverity,
    SetStatus,
    ShowSummary,
    ShowTimeline,
    Snooze,
    name_of,
)
from bot.command_words import check_length, is_user_ref, parse_number, syntax_error
from bot.domain.durations import DurationTooLong, parse_duration
from bot.domain.suggest import closest
from bot.domain.text import strip_edges
from bot.errors import UserError

__all__ = [
    "ALIASES",
    "SPECS",
    "AddNote",
    "AddTask",
    "AssignRole",
    "Command",
    "CompleteTask",
    "Declare",
    "Deescalate",
    "Escalate",
    "Help",
    "ListIncidents",
    "ListTasks",
    "MakePostmortem",
    "PostUpdate",
    "RenderComms",
    "Reopen",
    "Resolve",
    "SetSeverity",
    "SetStatus",
    "ShowSummary",
    "ShowTimeline",
    "Snooze",
    "Spec",
    "check_length",
    "help_spec",
    "is_user_ref",
    "name_of",
    "needs_incident",
    "parse",
    "parse_number",
]


# --- parsing --------------------------------------------------------------------------


def _text(spec: Spec, rest: str, what: str) -> str:
    if not rest.strip():
        raise syntax_error(spec, f"`{spec.name}` needs {what}.")
    return rest.strip()


def _user(spec: Spec, words: list[str], position: str = "") -> str:
    if not words:
        raise syntax_error(spec, f"`{spec.name}` needs a user{position}, like @alice.")
    if len(words) > 1:
        raise syntax_error(spec, f"`{spec.name}` takes one user, got `{' '.join(words)}`.")
    if not is_user_ref(words[0]):
        raise syntax_error(spec, f"`{words[0]}` is not a user. Mention someone, like @alice.")
    return words[0]


def _no_args(spec: Spec, words: list[str]) -> None:
    if words:
        raise syntax_error(spec, f"`{spec.name}` takes no arguments, got `{' '.join(words)}`.")


def _parse_task(spec: Spec, words: list[str]) -> Command:
    if not words:
        raise syntax_error(spec, "`task` needs `add` or `done`.")
    verb, rest = words[0].lower(), words[1:]
    if verb == "add":
        owner = None
        if rest and is_user_ref(rest[-1]):
            owner = rest.pop()
        if not rest:
            raise syntax_error(spec, "`task add` needs the task's text.")
        return AddTask(text=" ".join(rest), owner=owner)
    if verb in ("done", "complete", "close"):
        number = parse_number(rest[0]) if len(rest) == 1 else None
        if number is None:
            raise syntax_error(spec, "`task done` needs a task number, like `task done 2`.")
        return CompleteTask(number=number)
    raise syntax_error(
        spec, f"`task {verb}` is not a task command.", closest(verb, ["add", "done"])
    )


MAX_SNOOZE_SECONDS = 24 * 3600


def _parse_snooze(spec: Spec, words: list[str]) -> Snooze:
    if len(words) != 1:
        raise syntax_error(spec, "`snooze` needs one duration, like `snooze 30m`.")
    try:
        delta = parse_duration(words[0])
    except DurationTooLong:
        raise syntax_error(spec, "You can snooze reminders for at most 24h.") from None
    except ValueError:
        raise syntax_error(
            spec, f"`{words[0]}` is not a duration; use minutes or hours like 30m or 1h."
        ) from None
    if delta is None:
        raise syntax_error(spec, "`snooze` needs a duration, like 30m.")
    if delta.total_seconds() > MAX_SNOOZE_SECONDS:
        raise syntax_error(spec, "You can snooze reminders for at most 24h.")
    return Snooze(duration=delta)


def _parse_comms(spec: Spec, words: list[str]) -> RenderComms:
    post = "--post" in words
    rest = [w for w in words if w != "--post"]
    unknown = [w for w in rest if w.startswith("--")]
    if unknown:
        raise syntax_error(
            spec, f"`{unknown[0]}` is not a comms option.", closest(unknown[0], ["--post"])
        )
    if len(rest) > 1:
        raise syntax_error(
            spec, "`comms` takes one template name (or one @user to assign the role)."
        )
    if post and not rest:
        raise syntax_error(
            spec, "`comms --post` needs the template to post, like `comms customer_notice --post`."
        )
    return RenderComms(template=rest[0] if rest else None, post=post)


def _page(spec: Spec, words: list[str]) -> int:
    """The optional page number of a paged listing (`list 2`); the first page is 1."""
    if not words:
        return 1
    number = parse_number(words[0]) if len(words) == 1 else None
    if number is None:
        raise syntax_error(
            spec,
            f"`{spec.name}` takes at most a page number, like `{spec.name} 2`; "
            f"got `{' '.join(words)}`.",
        )
    return number


def parse(text: str, *, severity_names: list[str]) -> Command:
    """Parse the text after `/incident`. Raises `UserError` with usage and suggestions.

    The length is checked first (`MAX_INPUT`); every step after it is linear in the
    text. Any whitespace (a tab, a newline, a non-breaking space) separates words."""
    check_length(text)
    head, *more = text.split(maxsplit=1) or [""]
    rest = more[0] if more else ""
    head = strip_edges(head)  # a zero-width space or a byte-order mark glued to it
    if not head:
        if rest:
            raise UserError(
                "That command starts with invisible characters.", usage="/incident help"
            )
        return Help()
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
            return parse_declare(spec, words, severity_names)
        case "sev":
            if len(words) != 1:
                raise syntax_error(spec, "`sev` needs exactly one level.")
            return SetSeverity(level=words[0])
        case "escalate":
            _no_args(spec, words)
            return Escalate()
        case "deescalate":
            _no_args(spec, words)
            return Deescalate()
        case "status":
            if len(words) != 1:
                raise syntax_error(spec, "`status` needs exactly one status.")
            return SetStatus(state=words[0])
        case "comms" if not words or not is_user_ref(words[0]):
            return _parse_comms(spec, words)
        case "commander" | "comms":
            return AssignRole(role=name, user=_user(spec, words))
        case "snooze":
            return _parse_snooze(spec, words)
        case "summary":
            _no_args(spec, words)
            return ShowSummary()
        case "postmortem":
            _no_args(spec, words)
            return MakePostmortem()
        case "role":
            if not words:
                raise syntax_error(spec, "`role` needs a role name and a user.")
            return AssignRole(role=words[0].lower(), user=_user(spec, words[1:], " after the role"))
        case "update":
            return PostUpdate(text=_text(spec, rest, "the update's text"))
        case "note":
            return AddNote(text=_text(spec, rest, "the note's text"))
        case "task":
            return _parse_task(spec, words)
        case "tasks":
            return ListTasks(page=_page(spec, words))
        case "timeline":
            return ShowTimeline(page=_page(spec, words))
        case "resolve":
            return Resolve(summary=rest.strip())
        case "reopen":
            _no_args(spec, words)
            return Reopen()
        case "list":
            return ListIncidents(page=_page(spec, words))
        case _:
            if len(words) > 1:
                raise syntax_error(spec, "`help` takes at most one subcommand.")
            return Help(topic=words[0].lower() if words else "")


def needs_incident(command: Command) -> bool:
    return not isinstance(command, Declare | ListIncidents | Help)
