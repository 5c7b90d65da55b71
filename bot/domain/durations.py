"""Durations: parse `15m`/`1h30m`/`none`, format for people, key incident times."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

# A duration is at most `_MAX_TEXT` characters, and both patterns run in one linear pass
# (each run of digits must end in a unit, so nothing backtracks more than once).
_MAX_TEXT = 32
_DURATION = re.compile(r"(?:[0-9]+[smhd])+")
_PART = re.compile(r"([0-9]+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Longer than any reminder, snooze or checklist step; far inside what timedelta holds.
MAX_DURATION = timedelta(days=366)


class DurationTooLong(ValueError):
    """A well-formed duration longer than `MAX_DURATION`."""


def parse_duration(text: str) -> timedelta | None:
    """`15m`, `1h30m`, `90s`, `2d` -> timedelta; `none`/`off` -> None. ValueError otherwise
    (`DurationTooLong` for one longer than `MAX_DURATION`)."""
    raw = text.strip().lower().replace(" ", "")
    if raw in {"none", "off", "never", "-"}:
        return None
    shown = raw if len(raw) <= _MAX_TEXT else raw[:_MAX_TEXT] + "…"
    if len(raw) > _MAX_TEXT or not _DURATION.fullmatch(raw):
        raise ValueError(f"{shown!r} is not a duration like 15m, 1h or 1h30m")
    limit = int(MAX_DURATION.total_seconds())
    seconds = 0
    for digits, unit in _PART.findall(raw):
        seconds += int(digits) * _UNITS[unit]  # at most 31 digits: int() is instant
        if seconds > limit:
            raise DurationTooLong(f"{shown!r} is longer than {humanize(MAX_DURATION)}")
    if seconds <= 0:
        raise ValueError(f"{shown!r} must be longer than zero")
    return timedelta(seconds=seconds)


def humanize(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    total = int(delta.total_seconds())
    if total < 60:
        return f"{total}s"
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m"]
    return " ".join(p for p in parts if p and p != "0m") or "0m"


@dataclass(frozen=True, slots=True)
class KeyTimes:
    """Declared, acknowledged (identified), mitigated (monitoring) and resolved."""

    declared: datetime
    acknowledged: datetime | None
    mitigated: datetime | None
    resolved: datetime | None

    def _since(self, when: datetime | None) -> timedelta | None:
        return None if when is None else when - self.declared

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self._since(self.acknowledged)

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self._since(self.mitigated)

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self._since(self.resolved)
