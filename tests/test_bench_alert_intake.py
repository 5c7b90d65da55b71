"""`python -m bench alert_intake` at a tiny size: it runs, and its checks and figures hold."""

from __future__ import annotations

import json
import random

from bench import alert_intake as bench
from bench._alert_traffic import traffic
from bench.registry import Options

KEYS = {
    "alerts",
    "alerts_per_s",
    "p50_ms",
    "p99_ms",
    "incidents",
    "expected_incidents",
    "duplicates",
    "declared",
    "attached",
    "deduplicated",
    "alert_rows",
    "fingerprints",
    "baseline_roundtrip_ms",
    "baseline_requests_per_s",
    "ratio",
    "worst_case_alerts_per_s",
    "worst_case_incidents",
    "worst_case_expected_incidents",
    "target",
    "ok",
}


def test_the_traffic_repeats_earlier_fingerprints_within_a_few_groups():
    plan = traffic(400, per_request=1, groups=5, rng=random.Random(3), prefix="")
    bodies = [json.loads(b) for b in plan.bodies]
    seen: set[str] = set()
    for body in bodies:
        [alert] = body["alerts"]
        assert body["version"] == "4" and alert["status"] == "firing"
        assert body["groupKey"] == f'{{}}:{{alertname="{alert["labels"]["alertname"]}"}}'
        assert alert["labels"]["severity"] == "warning"
        seen.add(alert["fingerprint"])
    assert len(seen) == plan.fingerprints and 40 < plan.fingerprints < 130  # about a fifth
    assert len(plan.groups) == 5 and bodies[0]["alerts"][0]["fingerprint"] == f"{0:016x}"


def test_several_alerts_per_request_share_their_delivery_group():
    plan = traffic(90, per_request=4, groups=3, rng=random.Random(5), prefix="")
    assert plan.alerts == [4] * 22 + [2]
    for raw in plan.bodies:
        body = json.loads(raw)
        names = {a["labels"]["alertname"] for a in body["alerts"]}
        fingerprints = [a["fingerprint"] for a in body["alerts"]]
        assert len(names) == 1 and len(set(fingerprints)) == len(fingerprints)


def test_worst_case_traffic_gives_every_new_fingerprint_its_own_group():
    plan = traffic(200, per_request=1, groups=None, rng=random.Random(2), prefix="w")
    assert len(plan.groups) == plan.fingerprints


async def test_the_benchmark_runs_at_a_tiny_size():
    opts = Options(
        {
            "alerts": "80",
            "warmup": "20",
            "concurrency": "3",
            "groups": "4",
            "baseline_requests": "40",
            "worst_alerts": "40",
        },
        env={},
    )
    figures = await bench.run(opts)
    assert figures.keys() >= KEYS
    assert figures["duplicates"] == 0
    assert figures["incidents"] == figures["expected_incidents"] <= 4
    assert figures["alert_rows"] == figures["fingerprints"]
    reported = figures["declared"] + figures["attached"] + figures["deduplicated"]
    assert reported == figures["alerts"] == 80
    assert figures["worst_case_incidents"] == figures["worst_case_expected_incidents"]
    assert figures["alerts_per_s"] > 0 and figures["baseline_requests_per_s"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["target"] == bench.TARGET and isinstance(figures["ok"], bool)
