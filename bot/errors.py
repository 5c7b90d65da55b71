"""User-facing errors: every adapter renders them as a private reply."""

from __future__ import annotations

import re

from bot.limits import MAX_ERROR, MAX_QUOTE, shorten

_QUOTED = re.compile(r"`([^`]*)`")


def bounded(text: str, limit: int = MAX_ERROR) -> str:
    """An error's text as it may be shown: each `quoted` piece of input at most
    `MAX_QUOTE` characters, the whole at most `limit`, and no code span left open."""
    text = _QUOTED.sub(lambda m: f"`{shorten(m.group(1), MAX_QUOTE)}`", text)
    text = shorten(text, limit - 1)
    return text + "`" if text.count("`") % 2 else text


class UserError(Exception):
    """Bad input or a disallowed action. The message says what was wrong.

    `usage` lists the valid forms; `suggestion` is a "did you mean" candidate. Each is
    bounded here, the one place every error passes through, so an error never quotes
    more than a few hundred characters of what was typed.
    """

    def __init__(self, message: str, *, usage: str = "", suggestion: str = "") -> None:
        self.message = bounded(message)
        self.usage = bounded(usage)
        self.suggestion = bounded(suggestion, MAX_QUOTE)
        super().__init__(self.message)

    def render_text(self) -> str:
        lines = [self.message]
        if self.suggestion:
            lines.append(f"Did you mean `{self.suggestion}`?")
        if self.usage:
            lines.append(f"Usage: {self.usage}")
        return "\n".join(lines)
