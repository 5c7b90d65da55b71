"""The forms warroom opens as Discord modals: declare, update and resolve.

A modal's custom_id is `<modal id>:<incident number>`; its text inputs' custom_ids are the
keys the core reads from `ModalSubmitted.values` (`translate.submission`). Discord modals
hold at most five inputs, so declare asks for title, severity, playbook, summary and an
"options" line (`private`, `drill`); the commander is set afterwards with a command.
Submissions are handled by `app.py` from the raw interaction, so the Modal objects need
no callbacks and survive nothing: each is built when it is opened.
"""

from __future__ import annotations

import discord

from bot.domain.severity import SeverityScale


def _input(
    name: str, label: str, *, long: bool = False, required: bool = False, hint: str = ""
) -> discord.ui.TextInput[discord.ui.Modal]:
    return discord.ui.TextInput(
        label=label[:45],
        custom_id=name,
        style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
        required=required,
        placeholder=hint[:100] or None,
        max_length=3000 if long else 200,
    )


def _modal(modal_id: str, title: str, incident: str) -> discord.ui.Modal:
    return discord.ui.Modal(title=title[:45], custom_id=f"{modal_id}:{incident}"[:100])


def declare(*, severities: SeverityScale, playbooks: list[str]) -> discord.ui.Modal:
    modal = _modal("declare", "Declare an incident", "")
    modal.add_item(_input("title", "Title", required=True, hint="What is broken?"))
    modal.add_item(
        _input("severity", "Severity", hint=" / ".join(severities.names) + " (empty: playbook)")
    )
    if playbooks:
        modal.add_item(_input("playbook", "Playbook", hint=", ".join(playbooks)))
    modal.add_item(_input("summary", "Summary", long=True))
    modal.add_item(_input("flags", "Options", hint="private, drill (or leave empty)"))
    return modal


def update(*, incident: str = "") -> discord.ui.Modal:
    modal = _modal("update", "Post an update", incident)
    modal.add_item(_input("text", "Status update", long=True, required=True))
    return modal


def resolve(*, incident: str = "") -> discord.ui.Modal:
    modal = _modal("resolve", "Resolve incident", incident)
    modal.add_item(_input("summary", "Resolution summary", long=True))
    return modal
