"""The neutral alert every monitoring format is parsed into, and what intake reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

AlertStatus = Literal["firing", "resolved"]
SOURCES = ("alertmanager", "grafana", "generic")


class AlertPayloadError(ValueError):
    """A payload that cannot be read: `field` names where (like `alerts[2].labels`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One alert from one monitoring source.

    `key` identifies it for deduplication (Alertmanager's or Grafana's fingerprint, the
    generic `dedup_key`); `group` is the notification group it came in (Alertmanager's
    groupKey, Grafana's groupKey), empty when the format has none. `severity` is the raw
    value the source gave (a label like `critical`), mapped to a level by the rules.
    """

    source: str
    key: str
    status: AlertStatus
    title: str
    group: str = ""
    severity: str = ""
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    links: tuple[Link, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(slots=True)
class IntakeReport:
    """What became of one delivery's alerts: the hook's answer to the sender."""

    received: int = 0
    declared: list[int] = field(default_factory=list)  # numbers of incidents opened
    attached: int = 0  # new alerts added to an open incident
    deduplicated: int = 0  # repeats of an alert an open incident already has
    resolved: int = 0
    ignored: int = 0  # no rule wants it, or a resolve for an alert nobody tracks
    # declared, but the platform refused their channel: kept, and tried again
    channel_pending: list[int] = field(default_factory=list)
    incidents: list[int] = field(default_factory=list)  # every incident touched

    def as_json(self) -> dict[str, object]:
        return {
            "received": self.received,
            "declared": [f"INC-{n}" for n in self.declared],
            "attached": self.attached,
            "deduplicated": self.deduplicated,
            "resolved": self.resolved,
            "ignored": self.ignored,
            "channel_pending": [f"INC-{n}" for n in self.channel_pending],
            "incidents": [f"INC-{n}" for n in self.incidents],
        }
