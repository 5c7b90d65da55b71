"""`python -m bench all`'s report: one fresh process per benchmark, and RESULTS.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench import registry, report


def test_each_benchmark_runs_in_its_own_process_and_reports_its_line() -> None:
    result = report.run_one("notes", ["n=60", "warmup=10", "rounds=1"])
    assert result["bench"] == "notes"
    assert isinstance(result["ok"], bool) and "target" in result
    assert "peak_rss_mb" in result  # added by the harness of the child process


def test_a_benchmark_that_cannot_run_is_reported_not_raised() -> None:
    result = report.run_one("notes", ["n=abc"])  # a usage error: exit 2, no line
    assert result["ok"] is False and "exit 2" in result["error"]


def test_the_report_tables_every_figure_with_target_and_baseline(tmp_path: Path) -> None:
    results = [
        {
            "bench": "notes",
            "commands_per_s": 1140.2,
            "baseline_inserts_per_s": 2026.0,
            "ratio": 0.563,
            "target": {"ratio": ">= 0.5", "commands_per_s": ">= 1000"},
            "ok": True,
        },
        {"bench": "broken", "ok": False, "error": "exit 1: boom"},
    ]
    text = report.render(results, when=datetime(2026, 11, 26, 18, 0, tzinfo=UTC))
    assert "- Date: 2026-11-26 18:00 UTC" in text
    assert "cores" in text and "Python" in text and "SQLite" in text
    assert "| notes | ✅ | ratio | 0.563 | >= 0.5 | baseline_inserts_per_s 2,026 |" in text
    assert "|  |  | commands_per_s | 1,140 | >= 1000 |  |" in text
    assert "| broken | ❌ | error | exit 1: boom | | |" in text


def test_all_is_not_a_benchmark_name_and_report_is_harness() -> None:
    assert "report" not in registry.available()
    assert "all" not in registry.available()
