"""User-facing errors: every adapter renders them as a private reply."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a disallowed action. The message says what was wrong.

    `usage` lists the valid forms; `suggestion` is a "did you mean" candidate.
    """

    def __init__(self, message: str, *, usage: str = "", suggestion: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.suggestion = suggestion

    def render_text(self) -> str:
        lines = [self.message]
        if self.suggestion:
            lines.append(f"Did you mean `{self.suggestion}`?")
        if self.usage:
            lines.append(f"Usage: {self.usage}")
        return "\n".join(lines)
