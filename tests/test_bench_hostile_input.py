"""`python -m bench hostile_input` at a tiny size: every hostile kind runs, none crashes."""

from __future__ import annotations

from bench import hostile_input as bench
from bench.registry import Options, available


async def test_the_benchmark_measures_every_hostile_kind_against_a_plain_command():
    assert "hostile_input" in available()
    figures = await bench.run(Options({"n": "2", "warmup": "1"}, env={}))
    assert set(figures["hostile_ms"]) == set(bench.HOSTILE)
    assert figures["worst_hostile"] in bench.HOSTILE
    assert figures["worst_hostile_ms"] == max(figures["hostile_ms"].values())
    assert figures["baseline_note_ms"] > 0
    assert figures["ratio"] == round(figures["worst_hostile_ms"] / figures["baseline_note_ms"], 3)
    assert isinstance(figures["ok"], bool)
