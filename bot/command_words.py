"""The words of the `/incident` grammar that need care: the length of a whole command,
numbers (tasks, pages, button values) and user references.

Each check is linear in its input and runs on bounded input: `check_length` comes before
any parsing, and at most ten digits ever reach `int()`.
"""

from __future__ import annotations

import re

from bot.command_help import Spec
from bot.errors import UserError
from bot.limits import MAX_INPUT

_USER = re.compile(r"^(<@!?[A-Za-z0-9._-]+(\|[^>]*)?>|@[\w.\-]+)$")
_MAX_NUMBER = 2**31 - 1  # the largest number an INTEGER column holds on every backend
_MAX_DIGITS = len(str(_MAX_NUMBER))


def syntax_error(spec: Spec, message: str, suggestion: str = "") -> UserError:
    """A mistake in one subcommand's words: the message, with that subcommand's usage."""
    return UserError(message, usage=spec.usage, suggestion=suggestion)


def check_length(text: str, what: str = "That command") -> None:
    """Refuse text over `MAX_INPUT` characters, before anything parses it."""
    if len(text) > MAX_INPUT:
        raise UserError(
            f"{what} is {len(text):,} characters long; the limit is {MAX_INPUT:,}. "
            "Nothing was changed."
        )


def parse_number(word: str) -> int | None:
    """A number such as a task's or a page's (`3`, `#3`), or None. At most ten digits
    reach `int()`, and the result fits an INTEGER column."""
    digits = word.removeprefix("#")
    if not digits.isdecimal() or len(digits) > _MAX_DIGITS:
        return None
    number = int(digits)
    return number if 0 < number <= _MAX_NUMBER else None


def is_user_ref(word: str) -> bool:
    """`@name`, `<@ID>`, `<@!ID>` or `<@ID|name>`: a user for the platform to look up."""
    return bool(_USER.match(word))
