"""The status lifecycle: investigating -> identified -> monitoring -> resolved -> closed."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.suggest import closest
from bot.errors import UserError


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self in ACTIVE


ACTIVE = frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING})
ORDER = list(Status)

# Active states may move freely among themselves (a fix can regress) and to resolved.
# resolved -> closed ends the incident; resolved -> investigating is a reopen.
_ALLOWED: dict[Status, frozenset[Status]] = {
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset(),
}

USAGE = " | ".join(s.value for s in Status)


def parse(word: str) -> Status:
    key = word.strip().lower()
    for s in Status:
        if s.value == key:
            return s
    raise UserError(
        f"`{word}` is not a status.",
        usage=USAGE,
        suggestion=closest(word, [s.value for s in Status]),
    )


def check_transition(current: Status, target: Status) -> None:
    """Raise `UserError` when `current -> target` is not a move the lifecycle allows."""
    if current == target:
        raise UserError(f"The incident is already {current.value}.")
    if target not in _ALLOWED[current]:
        allowed = ", ".join(sorted(s.value for s in _ALLOWED[current])) or "nothing"
        hint = ""
        if current == Status.CLOSED:
            hint = " A closed incident is final; declare a new one."
        elif current == Status.RESOLVED and target != Status.CLOSED:
            hint = " Use `reopen` to reopen it."
        raise UserError(
            f"Can't move from {current.value} to {target.value}: "
            f"from {current.value} the next status can be {allowed}.{hint}"
        )
