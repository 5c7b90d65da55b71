"""`python -m bench postmortem` at a tiny size: it runs, and its checks and figures hold."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from bench import _timeline, postmortem
from bench.registry import Options
from bot.domain.timeline import EventKind


def test_the_generated_timeline_mixes_kinds_and_ends_resolved():
    story = _timeline.Story(
        incident_id=1, start=datetime(2026, 1, 1, tzinfo=UTC), rng=random.Random(7)
    )
    rows = list(_timeline.timeline(story, 3000))
    kinds = {r["kind"] for r in rows}
    assert len(rows) == 3000
    assert {EventKind.CHAT, EventKind.NOTE, EventKind.UPDATE, EventKind.PINNED} <= kinds
    assert {EventKind.STATUS, EventKind.TASK_ADDED, EventKind.CHAT_EDITED} <= kinds
    assert sum(r["kind"] == EventKind.CHAT for r in rows) > 0.7 * len(rows)
    assert rows[-1]["kind"] == EventKind.RESOLVED
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    assert any("\n" in r["text"] for r in rows)
    assert any("</details>" in r["text"] for r in rows)


async def test_the_benchmark_runs_at_a_tiny_size():
    figures = await postmortem.run(Options({"events": "300", "runs": "1"}, env={}))
    assert figures["events"] == 300  # and the draft lists every one (checked inside)
    assert figures["markdown_bytes"] > 300 * 20
    assert figures["seconds"] > 0 and figures["baseline_read_seconds"] > 0
    assert figures["ratio"] > 0
    assert figures["target"] == postmortem.TARGET
    assert isinstance(figures["ok"], bool)
