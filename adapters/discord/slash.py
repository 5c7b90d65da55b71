"""The `/incident` app-command group: one subcommand per grammar subcommand.

Options are typed so Discord's picker helps: severity levels (the configured scale),
statuses (the lifecycle), help topics and the playbooks' impact/urgency values are
choices, playbook names autocomplete, and people are members. Every callback only hands
the interaction to `on_command`; `translate.command_text` rebuilds the grammar text from
the options, so the core parses one grammar and gives the same errors everywhere.
`run text:<…>` takes the grammar as free text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from bot.command_help import SPECS
from bot.domain.status import Status
from bot.playbooks import PlaybookSet

Handler = Callable[[discord.Interaction[Any]], Awaitable[None]]
Ix = discord.Interaction[Any]


def _choices(values: list[str]) -> list[Choice[str]]:
    return [Choice(name=v, value=v) for v in values[:25]]


def matrix_values(playbooks: PlaybookSet) -> tuple[list[str], list[str]]:
    """The impact and urgency values of every playbook's matrix, in first-seen order."""
    impact: dict[str, None] = {}
    urgency: dict[str, None] = {}
    for pb in playbooks.by_name.values():
        if pb.matrix is not None:
            impact.update(dict.fromkeys(pb.matrix.impact))
            urgency.update(dict.fromkeys(pb.matrix.urgency))
    return list(impact), list(urgency)


def playbook_matches(playbooks: PlaybookSet, current: str) -> list[Choice[str]]:
    needle = current.lower()
    return _choices([n for n in playbooks.names if needle in n.lower()])


def group(
    name: str, *, severities: list[str], playbooks: PlaybookSet, on_command: Handler
) -> app_commands.Group:
    """The group, its callbacks all calling `on_command(interaction)`."""
    root = app_commands.Group(name=name, description="Declare and run incidents")
    impact, urgency = matrix_values(playbooks)

    def add(
        sub: str,
        callback: Callable[..., Coroutine[Any, Any, None]],
        *,
        choices: dict[str, list[str]] | None = None,
        describe: dict[str, str] | None = None,
    ) -> None:
        for option, values in (choices or {}).items():
            if values:
                callback = app_commands.choices(**{option: _choices(values)})(callback)
        if describe:
            callback = app_commands.describe(**describe)(callback)
        spec = SPECS.get(sub.partition("_")[0])
        summary = spec.summary if spec is not None else "run any incident command as text"
        if sub == "task_add":
            summary = "add an action item"
        elif sub == "task_done":
            summary = "complete an action item"
        command: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=sub, description=summary[:100], callback=callback, parent=root
        )
        root.add_command(command)

    async def complete_playbook(ix: Ix, current: str) -> list[Choice[str]]:
        return playbook_matches(playbooks, current)

    @app_commands.autocomplete(playbook=complete_playbook)
    async def declare(
        ix: Ix,
        title: str = "",
        severity: str = "",
        playbook: str = "",
        impact: str = "",
        urgency: str = "",
        commander: discord.Member | None = None,
        comms: discord.Member | None = None,
        private: bool = False,
        drill: bool = False,
    ) -> None:
        await on_command(ix)

    add(
        "declare",
        declare,
        choices={"severity": severities, "impact": impact, "urgency": urgency},
        describe={"title": "what is broken (empty: open the form)"},
    )

    async def sev(ix: Ix, level: str) -> None:
        await on_command(ix)

    add("sev", sev, choices={"level": severities})

    async def status(ix: Ix, state: str) -> None:
        await on_command(ix)

    add("status", status, choices={"state": [s.value for s in Status]})

    async def no_options(ix: Ix) -> None:
        await on_command(ix)

    for sub in ("escalate", "deescalate", "tasks", "timeline", "reopen", "list"):
        add(sub, no_options)
    for sub in ("summary", "postmortem"):
        add(sub, no_options)

    async def commander(ix: Ix, user: discord.Member) -> None:
        await on_command(ix)

    add("commander", commander)

    async def comms(
        ix: Ix, user: discord.Member | None = None, template: str = "", post: bool = False
    ) -> None:
        await on_command(ix)

    add(
        "comms",
        comms,
        describe={
            "user": "assign the comms lead",
            "template": "render a pre-approved message (empty: list them)",
            "post": "publish the template to the announcement channel",
        },
    )

    async def role(ix: Ix, name: str, user: discord.Member) -> None:
        await on_command(ix)

    add("role", role)

    async def update(ix: Ix, text: str = "") -> None:
        await on_command(ix)

    add("update", update, describe={"text": "the update (empty: open the form)"})

    async def note(ix: Ix, text: str) -> None:
        await on_command(ix)

    add("note", note)

    async def task_add(ix: Ix, text: str, owner: discord.Member | None = None) -> None:
        await on_command(ix)

    add("task_add", task_add)

    async def task_done(ix: Ix, number: app_commands.Range[int, 1]) -> None:
        await on_command(ix)

    add("task_done", task_done)

    async def resolve(ix: Ix, summary: str = "") -> None:
        await on_command(ix)

    add("resolve", resolve, describe={"summary": "what fixed it (empty: open the form)"})

    async def snooze(ix: Ix, duration: str) -> None:
        await on_command(ix)

    add("snooze", snooze, describe={"duration": "like 30m or 1h (at most 24h)"})

    async def help_(ix: Ix, topic: str = "") -> None:
        await on_command(ix)

    add("help", help_, choices={"topic": list(SPECS)})

    async def run(ix: Ix, text: str) -> None:
        await on_command(ix)

    add("run", run, describe={"text": "the command as text: declare SEV2 <title>, help, …"})
    return root
