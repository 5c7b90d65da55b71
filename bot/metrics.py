"""Process metrics in the Prometheus text exposition format (version 0.0.4).

Counters and histograms kept in memory by this process; `/metrics` adds the figures
that come from the database (open incidents, time to acknowledge and resolve), so those
are right across replicas and restarts. No client library: the format is small.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass
class Counter:
    name: str
    help: str
    label_names: tuple[str, ...] = ()
    values: dict[LabelValues, float] = field(default_factory=dict)

    def inc(self, *labels: str, by: float = 1.0) -> None:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}")
        self.values[labels] = self.values.get(labels, 0.0) + by

    def get(self, *labels: str) -> float:
        return self.values.get(labels, 0.0)

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


@dataclass
class Gauge:
    name: str
    help: str
    label_names: tuple[str, ...] = ()
    values: dict[LabelValues, float] = field(default_factory=dict)

    def set(self, value: float, *labels: str) -> None:
        self.values[labels] = value

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


@dataclass
class Histogram:
    name: str
    help: str
    buckets: tuple[float, ...]
    label_names: tuple[str, ...] = ()
    counts: dict[LabelValues, list[int]] = field(default_factory=dict)
    sums: dict[LabelValues, float] = field(default_factory=dict)

    def observe(self, value: float, *labels: str) -> None:
        counts = self.counts.setdefault(labels, [0] * (len(self.buckets) + 1))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
        counts[-1] += 1  # +Inf
        self.sums[labels] = self.sums.get(labels, 0.0) + value

    def count(self, *labels: str) -> int:
        return self.counts.get(labels, [0])[-1]

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, counts in sorted(self.counts.items()):
            bounds = [*self.buckets, math.inf]
            for bound, n in zip(bounds, counts, strict=True):
                le = _labels(self.label_names, labels, f'le="{_number(bound)}"')
                yield f"{self.name}_bucket{le} {n}"
            plain = _labels(self.label_names, labels)
            yield f"{self.name}_sum{plain} {_number(self.sums[labels])}"
            yield f"{self.name}_count{plain} {counts[-1]}"


LATENESS_BUCKETS = (0.5, 1, 5, 15, 30, 60, 300, 900)
DURATION_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200)


@dataclass
class Metrics:
    """The counters this process keeps. One instance per process, made in `bot.app.build`."""

    commands: Counter = field(
        default_factory=lambda: Counter(
            "warroom_commands_total", "Commands handled, by outcome.", ("outcome",)
        )
    )
    reminders_sent: Counter = field(
        default_factory=lambda: Counter(
            "warroom_reminders_sent_total",
            "Reminders, summaries and checklist steps posted, by kind.",
            ("kind",),
        )
    )
    reminder_lateness: Histogram = field(
        default_factory=lambda: Histogram(
            "warroom_reminder_lateness_seconds",
            "How long after its due time a reminder was posted.",
            LATENESS_BUCKETS,
        )
    )
    alerts: Counter = field(
        default_factory=lambda: Counter(
            "warroom_alerts_total",
            "Alerts received, by source and by what became of them "
            "(declared, attached, deduplicated, resolved, ignored, channel_pending).",
            ("source", "result"),
        )
    )
    alerts_received: Counter = field(
        default_factory=lambda: Counter(
            "warroom_alerts_received_total", "Alerts received, by source.", ("source",)
        )
    )

    def families(self) -> list[Counter | Gauge | Histogram]:
        return [
            self.commands,
            self.reminders_sent,
            self.reminder_lateness,
            self.alerts_received,
            self.alerts,
        ]


def render(families: Iterable[Counter | Gauge | Histogram]) -> str:
    return "".join(line + "\n" for family in families for line in family.lines())
