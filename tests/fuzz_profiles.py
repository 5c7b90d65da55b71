"""Hypothesis profiles for the property-based tests.

`ci` (the default) is quick and derandomized, so `make test` finds the same examples on
every run. `long` explores at random and much further: choose it with
`WARROOM_FUZZ=long make test` (or `pytest -k property`). `WARROOM_FUZZ_EXAMPLES` sets the
number of examples per test for `long`. No profile has a deadline: speed belongs in
bench/, not in test assertions.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from hypothesis import HealthCheck, settings

ENV = "WARROOM_FUZZ"
EXAMPLES_ENV = "WARROOM_FUZZ_EXAMPLES"


def register() -> str:
    """Register both profiles and load the one `WARROOM_FUZZ` names; return its name."""
    quiet = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile(
        "ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=quiet
    )
    settings.register_profile(
        "long",
        max_examples=int(os.environ.get(EXAMPLES_ENV, "5000")),
        deadline=None,
        suppress_health_check=quiet,
    )
    name = os.environ.get(ENV, "ci") or "ci"
    settings.load_profile(name)
    return name


def is_long() -> bool:
    return (os.environ.get(ENV) or "ci") == "long"


# Figures the property tests ran (commands, failures, time), printed after the run.
REPORTS: list[Callable[[], str]] = []


def summary_lines() -> list[str]:
    return [line for line in (report() for report in REPORTS) if line]
