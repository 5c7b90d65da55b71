"""Severity levels (configurable) and the impact x urgency matrix."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.suggest import closest
from bot.errors import UserError

DEFAULT_LEVELS = "SEV1:critical,SEV2:high,SEV3:moderate,SEV4:low"
_COLOURS = ("#d92d20", "#f79009", "#eaaa08", "#2e90fa", "#667085", "#98a2b3")


@dataclass(frozen=True, slots=True)
class Severity:
    name: str
    label: str
    rank: int  # 0 is the most severe

    @property
    def colour(self) -> str:
        return _COLOURS[min(self.rank, len(_COLOURS) - 1)]


class SeverityScale:
    """An ordered list of levels, most severe first."""

    def __init__(self, levels: list[Severity]) -> None:
        if not levels:
            raise ValueError("at least one severity level is required")
        self.levels = levels
        self._by_name = {s.name.lower(): s for s in levels}

    @classmethod
    def parse(cls, spec: str) -> SeverityScale:
        """Parse `SEV1:critical,SEV2:high,...` (most severe first)."""
        levels: list[Severity] = []
        for rank, item in enumerate(p.strip() for p in spec.split(",") if p.strip()):
            name, _, label = item.partition(":")
            name = name.strip()
            if not name or " " in name:
                raise ValueError(f"bad severity level {item!r}: expected NAME[:label]")
            if name.lower() in {s.name.lower() for s in levels}:
                raise ValueError(f"severity level {name!r} is listed twice")
            levels.append(Severity(name=name, label=label.strip() or name, rank=rank))
        return cls(levels)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.levels]

    @property
    def usage(self) -> str:
        return " | ".join(self.names)

    def get(self, name: str) -> Severity:
        found = self.find(name)
        if found is None:
            raise UserError(
                f"`{name}` is not a severity level.",
                usage=self.usage,
                suggestion=closest(name, self.names),
            )
        return found

    def find(self, name: str) -> Severity | None:
        key = name.strip().lower()
        if key in self._by_name:
            return self._by_name[key]
        # Accept a bare number ("2") for "SEV2"-style names.
        if key.isdigit():
            for s in self.levels:
                if s.name.lower().endswith(key) and s.name.rstrip("0123456789") != s.name:
                    digits = s.name[len(s.name.rstrip("0123456789")) :]
                    if digits == key:
                        return s
        return None

    def escalate(self, current: str) -> Severity:
        sev = self.get(current)
        if sev.rank == 0:
            raise UserError(f"{sev.name} is already the highest severity.")
        return self.levels[sev.rank - 1]

    def deescalate(self, current: str) -> Severity:
        sev = self.get(current)
        if sev.rank == len(self.levels) - 1:
            raise UserError(f"{sev.name} is already the lowest severity.")
        return self.levels[sev.rank + 1]

    def default(self) -> Severity:
        """Declaring without a level picks the middle of the scale, leaning less severe."""
        return self.levels[len(self.levels) // 2]


@dataclass(frozen=True, slots=True)
class SeverityMatrix:
    """impact x urgency -> severity name."""

    impacts: list[str]
    urgencies: list[str]
    cells: dict[str, dict[str, str]]

    def lookup(self, *, impact: str, urgency: str) -> str:
        imp = impact.strip().lower()
        urg = urgency.strip().lower()
        if imp not in self.impacts:
            raise UserError(
                f"`{impact}` is not an impact level.",
                usage=" | ".join(self.impacts),
                suggestion=closest(impact, self.impacts),
            )
        if urg not in self.urgencies:
            raise UserError(
                f"`{urgency}` is not an urgency level.",
                usage=" | ".join(self.urgencies),
                suggestion=closest(urgency, self.urgencies),
            )
        return self.cells[imp][urg]
