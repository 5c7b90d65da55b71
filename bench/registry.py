"""Which benchmarks exist, their options, and how one is run.

A benchmark is a module `bench/<name>.py` exposing::

    async def run(opts: Options) -> dict[str, Any]

It returns its figures plus `target` (what "good" means, as comparisons such as ">= 0.5")
and `ok` (whether the targets were met; see `bench.measure.meets`). Where it measures a
baseline it also returns `baseline...` figures and `ratio`. The harness adds `bench` and
`peak_rss_mb`. Modules named here in `HARNESS`, or starting with `_`, are not benchmarks.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

HARNESS = frozenset({"registry", "measure", "report"})
ENV_PREFIX = "BENCH_"

Figures = dict[str, Any]


class UnknownBenchmark(LookupError):
    def __init__(self, name: str, available: Sequence[str]) -> None:
        listing = ", ".join(available) or "none"
        super().__init__(f"unknown benchmark {name!r}; available: {listing}")
        self.name = name
        self.available = available


class BadResult(Exception):
    """A benchmark returned figures without the keys every result line carries."""


class BadOption(ValueError):
    """A benchmark option that is malformed or out of range (a usage error)."""


class Options:
    """Knobs for a benchmark: `key=value` arguments, then `BENCH_<KEY>` environment variables."""

    def __init__(
        self, args: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self._args = dict(args or {})
        self._env = os.environ if env is None else env

    @classmethod
    def parse(cls, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Options:
        args: dict[str, str] = {}
        for item in argv:
            key, sep, value = item.lstrip("-").partition("=")
            if not sep or not key:
                raise BadOption(f"expected key=value, got {item!r}")
            args[key.replace("-", "_").lower()] = value
        return cls(args, env)

    def raw(self, key: str) -> str | None:
        if key in self._args:
            return self._args[key]
        return self._env.get(ENV_PREFIX + key.upper())

    def int(self, key: str, default: int, *, minimum: int = 0) -> int:
        raw = self.raw(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadOption(f"{key} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise BadOption(f"{key} must be >= {minimum}, got {value}")
        return value


Runner = Callable[[Options], Coroutine[Any, Any, Figures]]


def available() -> list[str]:
    """Benchmark names, from the modules in this package (nothing is imported)."""
    here = str(Path(__file__).parent)
    return sorted(
        m.name
        for m in pkgutil.iter_modules([here])
        if not m.ispkg and not m.name.startswith("_") and m.name not in HARNESS
    )


def load(name: str) -> Runner:
    names = available()
    if name not in names:
        raise UnknownBenchmark(name, names)
    module = importlib.import_module(f"{__package__}.{name}")
    runner = getattr(module, "run", None)
    if not inspect.iscoroutinefunction(runner):
        raise BadResult(f"bench/{name}.py defines no `async def run(opts)`")
    return runner


def check(name: str, figures: Mapping[str, Any]) -> None:
    missing = [k for k in ("target", "ok") if k not in figures]
    if missing:
        raise BadResult(f"benchmark {name!r} returned no {', '.join(missing)}")
    if not isinstance(figures["ok"], bool):
        raise BadResult(f"benchmark {name!r} returned a non-bool ok")
    if "ratio" in figures and not any(k.startswith("baseline") for k in figures):
        raise BadResult(f"benchmark {name!r} returned a ratio without its baseline")
