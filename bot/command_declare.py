"""The `declare` subcommand's grammar: flags anywhere, an optional leading level, the
title, and a bare `--` after which every word is title."""

from __future__ import annotations

import re

from bot.command_help import Spec
from bot.command_types import Declare
from bot.command_words import is_user_ref, syntax_error
from bot.domain.suggest import closest
from bot.errors import UserError

_SEVERITY_LIKE = re.compile(r"^(sev|p)\d+$", re.IGNORECASE)
END_OF_OPTIONS = "--"


_DECLARE_VALUE_FLAGS = ("--playbook", "--impact", "--urgency", "--commander", "--comms")
_DECLARE_BOOL_FLAGS = ("--private", "--drill")


def parse_declare(spec: Spec, words: list[str], severity_names: list[str]) -> Declare:
    """Flags anywhere; the first word may be a level; the other words are the title.
    After a bare `--` every word is title, even one that starts with `--`."""
    values: dict[str, str] = {}
    bools: set[str] = set()
    title_words: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w == END_OF_OPTIONS:
            literal = words[i + 1 :]
            break
        if w.startswith("--"):
            flag = w.split("=", 1)[0].lower()
            inline = w.split("=", 1)[1] if "=" in w else None
            if flag in _DECLARE_BOOL_FLAGS:
                if inline is not None:
                    raise syntax_error(
                        spec, f"`{flag}` takes no value; leave it out to turn it off."
                    )
                bools.add(flag)
            elif flag in _DECLARE_VALUE_FLAGS:
                if inline is None:
                    if i + 1 >= len(words) or words[i + 1].startswith("--"):
                        raise syntax_error(spec, f"`{flag}` needs a value.")
                    inline = words[i + 1]
                    i += 1
                if flag in values:
                    raise syntax_error(spec, f"`{flag}` is given twice.")
                values[flag] = inline
            else:
                raise syntax_error(
                    spec,
                    f"`{flag}` is not a declare option. To start a title word with `--`, "
                    "put the title after a bare `--`: `declare SEV2 -- --force push failed`.",
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
    title_words += literal
    if not title_words:
        raise syntax_error(spec, "`declare` needs a title.")
    for flag in ("--commander", "--comms"):
        if flag in values and not is_user_ref(values[flag]):
            raise syntax_error(spec, f"`{flag}` needs a user like @alice, got `{values[flag]}`.")
    if ("--impact" in values) != ("--urgency" in values):
        raise syntax_error(spec, "`--impact` and `--urgency` go together: give both.")
    if severity and "--impact" in values:
        raise syntax_error(spec, "Give either a severity level or --impact/--urgency, not both.")
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
