"""Durations: parse `15m`/`1h30m`/`none`, format for people, key incident times."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_PART = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta | None:
    """`15m`, `1h30m`, `90s`, `2d` -> timedelta; `none`/`off` -> None. ValueError otherwise."""
    raw = text.strip().lower().replace(" ", "")
    if raw in {"none", "off", "never", "-"}:
        return None
    if not raw or _PART.sub("", raw):
        raise ValueError(f"{text!r} is not a duration like 15m, 1h or 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(raw))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
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
