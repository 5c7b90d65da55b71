"""The `/incident` subcommands: usage, summaries and examples for help and errors."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.suggest import closest
from bot.errors import UserError


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
            "level applies. Without --playbook the playbooks' match rules choose. "
            "Everything after a bare `--` is title, even words that start with `--`.",
            (
                "declare SEV2 Checkout errors",
                "declare Login down --impact high --urgency high",
                "declare SEV1 Leaked API key --playbook security-incident --private",
                "declare SEV2 --playbook default -- --force push broke main",
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
        Spec(
            "comms",
            "comms @user | comms [template] [--post]",
            "assign the comms lead, or render a pre-approved message",
            True,
            "With a user, assigns the comms lead. With a template name, renders the "
            "playbook's pre-approved message privately for you; --post publishes it to the "
            "announcement channel. With nothing, lists the templates.",
            ("comms @bob", "comms customer_notice", "comms internal_update --post"),
        ),
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
        Spec(
            "tasks",
            "tasks [page]",
            "list the incident's tasks, 20 to a page",
            True,
            "",
            ("tasks", "tasks 2"),
        ),
        Spec(
            "timeline",
            "timeline [page]",
            "show the timeline, newest 20 entries first; page 2 is the 20 before them",
            True,
            "",
            ("timeline", "timeline 2"),
        ),
        Spec(
            "resolve",
            "resolve [summary]",
            "resolve the incident",
            True,
            "",
            ("resolve Bad deploy rolled back",),
        ),
        Spec("reopen", "reopen", "reopen a resolved incident", True),
        Spec(
            "snooze",
            "snooze <duration>",
            "put off the next update reminder (at most 24h)",
            True,
            "",
            ("snooze 30m",),
        ),
        Spec("summary", "summary", "post a summary of what changed since the last one", True),
        Spec(
            "postmortem",
            "postmortem",
            "compile the timeline into a postmortem draft (posted as a file where possible)",
            True,
        ),
        Spec("list", "list [page]", "list open incidents, 15 to a page", False, "", ("list 2",)),
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
