"""Mention tokens inside neutral message text.

The core never writes a platform's mention syntax. It writes a token that users cannot
type (control characters are stripped from inbound text), and each adapter replaces the
tokens with real mentions while escaping everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.sanitize import clean_text

TOKEN_OPEN = "\x02"
TOKEN_CLOSE = "\x03"
_TOKEN = re.compile(f"{TOKEN_OPEN}([@#])([^{TOKEN_CLOSE}]*){TOKEN_CLOSE}")


@dataclass(frozen=True, slots=True)
class Mention:
    kind: str  # "@" user, "#" channel
    id: str


def mention(user_id: str) -> str:
    return f"{TOKEN_OPEN}@{user_id}{TOKEN_CLOSE}"


def channel_link(channel_id: str) -> str:
    return f"{TOKEN_OPEN}#{channel_id}{TOKEN_CLOSE}"


def clean_user_text(text: str) -> str:
    """Strip control characters (and so any forged token) from text a user typed; the
    one sanitiser, `bot.sanitize.clean_text`."""
    return clean_text(text)


def split(text: str) -> list[str | Mention]:
    """Split text into plain runs and mention tokens, in order."""
    parts: list[str | Mention] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(Mention(kind=m.group(1), id=m.group(2)))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def mentioned_user_ids(text: str) -> list[str]:
    return [p.id for p in split(text) if isinstance(p, Mention) and p.kind == "@"]
