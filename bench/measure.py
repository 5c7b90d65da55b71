"""Helpers shared by benchmarks: targets, timing, memory."""

from __future__ import annotations

import operator
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from bot.config import Settings

REPO = Path(__file__).resolve().parent.parent

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def meets(targets: Mapping[str, str], figures: Mapping[str, Any]) -> bool:
    """Whether every target such as {"ratio": ">= 0.5"} holds for the figures."""
    for key, spec in targets.items():
        op, _, bound = spec.strip().partition(" ")
        compare = _COMPARE.get(op)
        if compare is None:
            raise ValueError(f"target {key}: unknown comparison in {spec!r}")
        value = figures.get(key)
        if not isinstance(value, int | float) or not compare(value, float(bound)):
            return False
    return True


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    """Seconds one run of `action` takes, on the monotonic high-resolution clock."""
    start = time.perf_counter()
    await action()
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def temp_settings(folder: str | Path) -> Settings:
    """Settings for a benchmark's own app: a SQLite file and postmortems in `folder` (a
    temporary directory), the shipped playbooks, and nothing from the environment."""
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{Path(folder) / 'warroom.db'}",
        playbooks_dir=REPO / "playbooks",
        postmortem_dir=Path(folder) / "postmortems",
    )
