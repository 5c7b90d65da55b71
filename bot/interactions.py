"""Buttons and forms: the command a button press or a form submission stands for.

`button_command` maps a button to its command, or to the form it opens instead (an
`Outcome` asking the adapter for a modal); `modal_command` turns a submitted form into
its command. Neither does any I/O: `Bot` (`bot/bot.py`) runs what they return.
"""

from __future__ import annotations

from typing import NoReturn

from bot import commands as cmd
from bot.errors import UserError
from bot.events import ButtonPressed, ModalSubmitted
from bot.port import Outcome
from bot.service.base import Actor


def button_command(event: ButtonPressed, actor: Actor) -> cmd.Command | Outcome:
    """The button's command, or the `Outcome` that opens its form."""
    mention = f"<@{actor.user.id}>"
    match event.action_id:
        case "incident.take_commander":
            command: cmd.Command = cmd.AssignRole(role="commander", user=mention)
        case "incident.take_comms":
            command = cmd.AssignRole(role="comms", user=mention)
        case "incident.resolve":
            return Outcome(modal="resolve", modal_context={"incident": _incident(event.value)})
        case "incident.post_update":
            return Outcome(modal="update", modal_context={"incident": _incident(event.value)})
        case "incident.snooze":
            _, _, wait = event.value.partition(":")
            command = cmd.parse(f"snooze {wait or '30m'}", severity_names=[])
        case _:
            raise UserError(f"That button (`{event.action_id}`) is not one of warroom's.")
    return command


def button_incident(value: str) -> int | None:
    """The incident number a button's value starts with (`7` or `7:30m`), if any."""
    return cmd.parse_number(value.partition(":")[0])


def _incident(value: str) -> str:
    number = button_incident(value)
    return str(number) if number is not None else ""


def modal_command(event: ModalSubmitted) -> cmd.Command:
    """The form's command. Each value is checked for length before anything reads it."""
    v = event.values
    for name, value in v.items():
        cmd.check_length(value, f"The form's `{name}` field")
    match event.modal_id:
        case "declare":
            return cmd.Declare(
                title=v.get("title", "").strip() or _missing("title"),
                severity=v.get("severity") or None,
                playbook=v.get("playbook") or None,
                impact=v.get("impact") or None,
                urgency=v.get("urgency") or None,
                commander=v.get("commander") or None,
                summary=v.get("summary", ""),
                private=v.get("private") == "true",
                drill=v.get("drill") == "true",
            )
        case "update":
            return cmd.PostUpdate(text=v.get("text", "").strip() or _missing("update"))
        case "resolve":
            return cmd.Resolve(summary=v.get("summary", ""))
    raise UserError(f"That form (`{event.modal_id}`) is not one of warroom's.")


def _missing(what: str) -> NoReturn:
    raise UserError(f"The {what} is required.")
