"""Pages of a listing that grows with data: the incident list, tasks, the timeline.

A reply shows one page (`list 2`, `tasks 3`, `timeline 2`), so it stays the same size
however many rows there are. Templates get the `Page` to say where the reader is and
how to see more.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UserError

LIST_PAGE = 15
TASKS_PAGE = 20
TIMELINE_PAGE = 20
# One row of a listing shows at most this many characters of text a person wrote.
ROW_TEXT = 120


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # from 1
    size: int
    total: int  # rows in all pages

    @property
    def count(self) -> int:
        """How many pages there are (at least one, even when there are no rows)."""
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_more(self) -> bool:
        return self.number < self.count


def page(number: int, *, size: int, total: int, what: str, command: str) -> Page:
    """Page `number` of `total` rows; a `UserError` naming the last page if it is past it."""
    result = Page(number=number, size=size, total=total)
    if number > result.count:
        last = result.count
        raise UserError(
            f"There is no page {number} of {what}: there "
            f"{'is 1 page' if last == 1 else f'are {last} pages'}. "
            f"See the last with `{command} {last}`."
        )
    return result
