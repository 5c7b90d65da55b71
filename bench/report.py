"""`python -m bench all`: every benchmark, each in a fresh process, and `bench/RESULTS.md`.

A fresh process per benchmark keeps the memory figures (peak RSS) its own. The report
lists every figure next to its target and baseline, with the machine and the date.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")
SKIP_KEYS = frozenset({"bench", "target", "ok", "error", "note"})


def run_one(name: str, args: Sequence[str] = ()) -> dict[str, Any]:
    """Run `python -m bench NAME` in a child process; its one JSON line, parsed."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", name, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"bench": name, "ok": False, "error": f"exit {proc.returncode}: {tail[0]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text(encoding="utf-8").split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _baseline_for(key: str, figures: Mapping[str, Any]) -> str:
    if key == "ratio":
        baselines = [k for k in figures if k.startswith("baseline")]
        return ", ".join(f"{k} {_value(figures[k])}" for k in baselines)
    return ""


def render(results: Sequence[Mapping[str, Any]], *, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    host = machine()
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m bench all`; each benchmark ran in its own process, one after",
        "the other. Ratios compare against a baseline measured in the same run, because",
        "absolute figures on shared machines are noisy.",
        "",
        f"- Date: {when.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {host['cpu']}, {host['cores']} cores, {host['memory']} memory, {host['os']}",
        f"- Python {host['python']}, SQLite {host['sqlite']}",
        "",
        "| benchmark | ok | figure | value | target | baseline |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for result in results:
        name = str(result.get("bench", "?"))
        targets: Mapping[str, str] = result.get("target") or {}
        ok = "✅" if result.get("ok") is True else "❌"
        if "error" in result:
            lines.append(f"| {name} | {ok} | error | {result['error']} | | |")
            continue
        keys = [*targets, *(k for k in result if k not in targets and k not in SKIP_KEYS)]
        for i, key in enumerate(k for k in keys if k in result):
            lines.append(
                f"| {name if i == 0 else ''} | {ok if i == 0 else ''} | {key} | "
                f"{_value(result[key])} | {targets.get(key, '')} | {_baseline_for(key, result)} |"
            )
    lines += ["", "Raw result lines:", "", "```"]
    lines += [json.dumps(r) for r in results]
    lines += ["```", ""]
    return "\n".join(lines)


def run_all(names: Sequence[str], *, out: Path = RESULTS) -> list[dict[str, Any]]:
    results = []
    for name in names:
        result = run_one(name)
        print(json.dumps(result), flush=True)
        results.append(result)
    out.write_text(render(results), encoding="utf-8")
    print(f"bench: wrote {out}", file=sys.stderr)
    return results
