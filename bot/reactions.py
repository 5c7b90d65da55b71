"""Reaction rules: which emoji does what in an incident channel.

The map is configuration (`WARROOM_REACTIONS="rotating_light=escalate,pushpin=pin"`).
Emoji are compared by name: Slack sends short names (`rotating_light`), the console may
send the character itself (🚨) or `:name:`; both spell the same key here.
"""

from __future__ import annotations

from enum import StrEnum


class ReactionAction(StrEnum):
    ESCALATE = "escalate"  # raise the severity one step (adding only)
    PIN = "pin"  # mark the message as key on the timeline; removing unmarks it


# Characters for the short names warroom's defaults use, so either spelling matches.
_CHARACTERS = {"rotating_light": "🚨", "pushpin": "📌", "round_pushpin": "📍"}
_NAMES = {char: name for name, char in _CHARACTERS.items()}

DEFAULT_SPEC = "rotating_light=escalate,pushpin=pin"


def emoji_key(emoji: str) -> str:
    """`:pushpin:`, `pushpin` and 📌 are one key; a skin tone (`+1::skin-tone-2`) is ignored."""
    name = emoji.strip().strip(":").split("::", 1)[0].lower()
    return _NAMES.get(name, name)


def emoji_label(emoji: str) -> str:
    """How to show an emoji in a message: the character if known, else `:name:`."""
    key = emoji_key(emoji)
    if key in _CHARACTERS:
        return _CHARACTERS[key]
    return key if not key.isascii() else f":{key}:"


def parse_reactions(spec: str) -> dict[str, ReactionAction]:
    """`"rotating_light=escalate, pushpin=pin"` -> {emoji key: action}. Empty: no reactions.

    Raises ValueError naming the bad pair and the valid actions."""
    found: dict[str, ReactionAction] = {}
    valid = ", ".join(a.value for a in ReactionAction)
    for pair in spec.split(","):
        if not pair.strip():
            continue
        emoji, sep, action = pair.partition("=")
        key, action = emoji_key(emoji), action.strip().lower()
        if not sep or not key:
            raise ValueError(f"{pair.strip()!r} is not emoji=action (actions: {valid})")
        try:
            found[key] = ReactionAction(action)
        except ValueError:
            raise ValueError(
                f"unknown reaction action {action!r} for {key!r}; use one of: {valid}"
            ) from None
    return found


DEFAULT_REACTIONS = parse_reactions(DEFAULT_SPEC)
