"""Alert rules in playbooks: which alerts a playbook takes, at what severity, and how.

```yaml
alerts:
  - match: {service: checkout, env: "~prod|staging"}   # every label must match
    sources: [alertmanager]          # empty: any source
    action: declare                  # or attach: join the newest open incident of this playbook
    severity_map: {critical: SEV1, warning: SEV3}
    default_severity: SEV2
    commander: "@alice"              # optional: else the playbook's default, else unassigned
    on_resolve: monitoring           # or record (the default)
    fold: 10m                        # re-fires and resolves inside this window are not posted
```

A value starting with `~` is a regular expression that must match the whole label value.
Among the rules of all playbooks, the one with the most `match` labels that fit wins; ties
go to the playbook listed first by name. A rule with an empty `match` takes everything.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from bot.alerts.model import SOURCES, Alert
from bot.domain.durations import parse_duration
from bot.domain.severity import Severity, SeverityScale

if TYPE_CHECKING:
    from bot.playbook import Playbook
    from bot.playbooks import PlaybookSet

DEFAULT_FOLD = timedelta(minutes=10)


class AlertRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: dict[str, str] = {}
    sources: list[str] = []
    action: Literal["declare", "attach"] = "declare"
    severity_label: str = "severity"
    severity_map: dict[str, str] = {}
    default_severity: str | None = None
    commander: str | None = None
    comms: str | None = None
    on_resolve: Literal["record", "monitoring"] = "record"
    fold: timedelta = DEFAULT_FOLD

    @field_validator("match")
    @classmethod
    def _valid_patterns(cls, v: dict[str, str]) -> dict[str, str]:
        for label, pattern in v.items():
            if pattern.startswith("~"):
                try:
                    re.compile(pattern[1:])
                except re.error as exc:
                    raise ValueError(f"label {label!r}: bad regular expression: {exc}") from None
        return v

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in SOURCES]
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r}; sources are {', '.join(SOURCES)}")
        return v

    @field_validator("severity_map")
    @classmethod
    def _lower_keys(cls, v: dict[str, str]) -> dict[str, str]:
        return {k.lower(): level for k, level in v.items()}

    @field_validator("fold", mode="before")
    @classmethod
    def _parse_fold(cls, v: object) -> object:
        if v is None or v is False or (isinstance(v, str) and v.lower() in ("off", "none", "0")):
            return timedelta(0)  # no folding: every re-fire and resolve is posted
        if isinstance(v, str):
            return parse_duration(v)
        if isinstance(v, int | float):
            return timedelta(minutes=v)
        return v

    def levels(self) -> list[str]:
        """Every severity this rule names (checked against the scale at load)."""
        named = list(self.severity_map.values())
        return [*named, self.default_severity] if self.default_severity else named

    def fits(self, alert: Alert) -> int | None:
        """How many labels matched (the rule's specificity), or None if it doesn't fit."""
        if self.sources and alert.source not in self.sources:
            return None
        for label, pattern in self.match.items():
            value = alert.labels.get(label)
            if value is None:
                return None
            if pattern.startswith("~"):
                if re.fullmatch(pattern[1:], value) is None:
                    return None
            elif value != pattern:
                return None
        return len(self.match)

    def severity(self, alert: Alert, scale: SeverityScale) -> Severity:
        raw = (alert.labels.get(self.severity_label) or alert.severity).strip()
        mapped = self.severity_map.get(raw.lower())
        if mapped is not None:
            return scale.get(mapped)
        direct = scale.find(raw) if raw else None  # the source already speaks our levels
        if direct is not None:
            return direct
        if self.default_severity:
            return scale.get(self.default_severity)
        return scale.default()


def route(playbooks: PlaybookSet, alert: Alert) -> tuple[Playbook, AlertRule] | None:
    """The playbook and rule that take this alert, or None when no rule wants it."""
    best: tuple[int, Playbook, AlertRule] | None = None
    for name in playbooks.names:
        playbook = playbooks.by_name[name]
        for rule in playbook.alerts:
            score = rule.fits(alert)
            if score is not None and (best is None or score > best[0]):
                best = (score, playbook, rule)
    return (best[1], best[2]) if best else None
