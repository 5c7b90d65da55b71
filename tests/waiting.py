"""Waiting, in a test, for something to become true.

Tests wait on conditions, never on time: `until` checks a condition each time the loop
comes round (every `every` seconds) and returns what the check found as soon as it
holds. `within` is only an upper bound for a hang, generous enough for a loaded machine;
when it is reached, or `gone()` says something the condition needs has ended (a
process), the failure names what was awaited, what the check last saw (a check may
answer `NotYet("3 of 11 set up")`, which counts as false) and `context()` (logs).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

WITHIN = 120.0  # seconds: an upper bound; only something that hangs takes this long


class NotYet(str):
    """A check's answer while its condition does not hold: what it saw. It is false."""

    def __bool__(self) -> bool:
        return False


async def until(
    what: str,
    check: Callable[[], Any | Awaitable[Any]],
    *,
    within: float = WITHIN,
    every: float = 0.05,
    gone: Callable[[], bool] | None = None,
    context: Callable[[], str] | None = None,
) -> Any:
    seen: Any = None
    ended = False
    try:
        async with asyncio.timeout(within):
            while True:
                found = check()
                seen = await found if inspect.isawaitable(found) else found
                if seen:
                    return seen
                if gone is not None and gone():
                    ended = True
                    break
                await asyncio.sleep(every)
    except TimeoutError:
        pass
    why = "what it needs has ended" if ended else f"not within {within:g} s"
    shown = f"waited for {what}: {why}; last seen: {seen!r}"
    raise AssertionError(f"{shown}\n{context()}" if context is not None else shown)
