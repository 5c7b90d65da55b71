"""Sustained Alertmanager webhooks over loopback HTTP into a real warroom App.

warroom as `warroom run` serves it: the console platform, a SQLite file in a temp dir,
the real scheduler, and the real aiohttp server (`adapters.web.server.serving`) on
127.0.0.1 port 0 with a bearer token configured (`WARROOM_HOOK_TOKEN`). A real aiohttp
client posts Alertmanager webhooks (payload version "4") to POST /hooks/alertmanager,
sending the token, from `concurrency` concurrent senders (default 8) that take the next
request of one shared sequence as soon as their previous one is answered. The senders run
in a child process of their own (`bench/_alert_client.py`).

Traffic (`bench/_alert_traffic.py`; seeded, so every run sends the same sequence): each
request is one delivery of `alerts_per_request` alerts (default 1). An alert carries a
NEW fingerprint with probability 0.2, else it repeats a fingerprint sent earlier in the
sequence (uniformly; its first delivery may still be in flight). Each fingerprint
belongs to one of `groups` notification groups (default 20), picked uniformly when it is
new: its labels hold `alertname=Alert-<g>` and `severity=warning`, the delivery's
groupKey is `{}:{alertname="Alert-<g>"}`. So each group ought to get exactly ONE
incident, declared by its first alert and joined by its later new fingerprints; repeats
only count. With more than one alert per request, the first alert is drawn as above and
sets the delivery's group; the others are drawn within that group (as Alertmanager
delivers one group at a time). The first `warmup` alerts (default 300) are sent before
the clock starts.

Figures: `alerts_per_s` (timed alerts over the timed wall time), `p50_ms`/`p99_ms` per
request, the report counts summed from the responses' JSON (`declared`, `attached`,
`deduplicated`, `ignored`, `channel_pending`), `incidents` (rows in the database at the end),
`expected_incidents` (distinct groups sent), `alert_rows` (rows in the `alert` table,
which must equal `fingerprints`, the distinct fingerprints sent), and `duplicates`.

Baseline, against the same server in the same run: the same requests (same bodies, same
concurrency) without the Authorization header, which the hook refuses with 401 before it
reads the body: one raw HTTP round trip through warroom's aiohttp app and middleware,
with no parsing and no database. `baseline_roundtrip_ms` is its p50, `ratio` =
alerts_per_s / baseline_requests_per_s.

Worst case (labelled, no target of its own): a fresh App and server take `worst_alerts`
(default 1500) alerts where every new fingerprint is its own group, so a fifth of all
alerts declare an incident (a channel, card, announcement each). `worst_case_alerts_per_s`
is its throughput; its duplicate incidents are added into `duplicates`.

Options (key=value or BENCH_<KEY>): alerts (5000), warmup (300), concurrency (8), groups
(20), alerts_per_request (1), baseline_requests (2000), worst_alerts (1500), seed (1).
"""

from __future__ import annotations

import contextlib
import cProfile
import logging
import random
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import select

from adapters.console.app import build_console
from adapters.web.server import serving
from bench._alert_client import Senders
from bench._alert_traffic import Traffic, traffic
from bench.measure import meets, rate
from bench.registry import BadOption, Options
from bot.app import App
from bot.clock import SystemClock
from bot.config import Settings
from storage.tables import AlertRecord, Incident

log = logging.getLogger("bench.alert_intake")

REPO = Path(__file__).resolve().parent.parent
TARGET = {"alerts_per_s": ">= 500", "duplicates": "<= 0"}
TOKEN = "bench-hook-token-0123456789abcdef"
PATH = "/hooks/alertmanager"


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered)))
    return round(ordered[min(rank, len(ordered)) - 1] * 1000, 2)


# -- one server ------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet(name: str = "warroom") -> Iterator[None]:
    """warroom's info logs (one per retried delivery, per server start) off for the run."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(before)


@contextlib.asynccontextmanager
async def _served(tmp: Path) -> AsyncIterator[tuple[App, str]]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp / 'warroom.db'}",
        playbooks_dir=REPO / "playbooks",
        postmortem_dir=tmp / "postmortems",
        http_host="127.0.0.1",
        http_port=0,
        hook_token=SecretStr(TOKEN),
    )
    app, _session = await build_console(settings, clock=SystemClock())
    try:
        await app.start_scheduler()
        async with serving(app, settings) as port:
            yield app, f"http://127.0.0.1:{port}{PATH}"
    finally:
        await app.stop()


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    """With a path (option `profile`), cProfile this process (the server: the senders
    are in their own) and write the stats there, for `python -m pstats`."""
    if not path:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(path)
        log.warning("server-side profile of the timed run written to %s", path)


async def _counts(app: App) -> tuple[int, int]:
    """(incidents, alert rows) in the database."""
    async with app.db.reader() as tx:
        incidents = (await tx.exec(select(func.count()).select_from(Incident))).one()
        alerts = (await tx.exec(select(func.count()).select_from(AlertRecord))).one()
    return int(incidents), int(alerts)


def _split(plan: Traffic, warmup_alerts: int) -> int:
    """How many requests the warm-up takes: whole requests up to `warmup_alerts`."""
    sent = 0
    for index, size in enumerate(plan.alerts):
        if sent >= warmup_alerts:
            return index
        sent += size
    return len(plan.alerts)


async def _check(app: App, plan: Traffic, label: str) -> dict[str, int]:
    incidents, rows = await _counts(app)
    if rows != plan.fingerprints:
        raise RuntimeError(f"{label}: {rows} alert rows for {plan.fingerprints} fingerprints")
    return {"incidents": incidents, "expected_incidents": len(plan.groups), "alert_rows": rows}


async def _main_case(senders: Senders, opts: Options, rng: random.Random) -> dict[str, Any]:
    alerts = opts.int("alerts", 5000, minimum=1)
    warmup = opts.int("warmup", 300)
    concurrency = opts.int("concurrency", 8, minimum=1)
    groups = opts.int("groups", 20, minimum=1)
    per_request = opts.int("alerts_per_request", 1, minimum=1)
    baseline_requests = opts.int("baseline_requests", 2000, minimum=1)
    plan = traffic(warmup + alerts, per_request=per_request, groups=groups, rng=rng, prefix="")
    cut = _split(plan, warmup)
    if cut >= len(plan.bodies):
        raise BadOption("alerts: nothing left to time after the warm-up")
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        async with _served(Path(tmp)) as (app, url):
            common = {"concurrency": concurrency}
            await senders.run(url, plan.bodies[:cut], token=TOKEN, expect=200, **common)
            with _profiled(opts.raw("profile")):
                timed = await senders.run(url, plan.bodies[cut:], token=TOKEN, expect=200, **common)
            # Baseline: the same bodies, refused at the door (cycled to the wanted count).
            refused = [plan.bodies[i % len(plan.bodies)] for i in range(baseline_requests)]
            await senders.run(
                url, refused[: min(200, len(refused))], token=None, expect=401, **common
            )
            base = await senders.run(url, refused, token=None, expect=401, **common)
            counts = await _check(app, plan, "main")
    timed_alerts = plan.count(cut, len(plan.alerts))
    alerts_per_s = rate(timed_alerts, timed.seconds)
    baseline_per_s = rate(len(refused), base.seconds)
    return {
        "alerts": timed_alerts,
        "warmup": plan.count(0, cut),
        "requests": len(timed.latencies),
        "concurrency": concurrency,
        "groups": groups,
        "alerts_per_request": per_request,
        "alerts_per_s": alerts_per_s,
        "requests_per_s": rate(len(timed.latencies), timed.seconds),
        "p50_ms": percentile(timed.latencies, 50),
        "p99_ms": percentile(timed.latencies, 99),
        **counts,
        "fingerprints": plan.fingerprints,
        **timed.reported,
        "baseline_requests": len(refused),
        "baseline_roundtrip_ms": percentile(base.latencies, 50),
        "baseline_p99_ms": percentile(base.latencies, 99),
        "baseline_requests_per_s": baseline_per_s,
        "ratio": round(alerts_per_s / baseline_per_s, 3),
    }


async def _worst_case(senders: Senders, opts: Options, rng: random.Random) -> dict[str, Any]:
    alerts = opts.int("worst_alerts", 1500)
    concurrency = opts.int("concurrency", 8, minimum=1)
    per_request = opts.int("alerts_per_request", 1, minimum=1)
    if alerts == 0:
        return {}
    plan = traffic(alerts, per_request=per_request, groups=None, rng=rng, prefix="w")
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        async with _served(Path(tmp)) as (app, url):
            result = await senders.run(
                url, plan.bodies, concurrency=concurrency, token=TOKEN, expect=200
            )
            counts = await _check(app, plan, "worst case")
    return {
        "worst_case_alerts": plan.count(0, len(plan.alerts)),
        "worst_case_alerts_per_s": rate(plan.count(0, len(plan.alerts)), result.seconds),
        "worst_case_p50_ms": percentile(result.latencies, 50),
        "worst_case_p99_ms": percentile(result.latencies, 99),
        "worst_case_incidents": counts["incidents"],
        "worst_case_expected_incidents": counts["expected_incidents"],
        "worst_case_declared": result.reported["declared"],
        "worst_case_duplicates": counts["incidents"] - counts["expected_incidents"],
    }


async def run(opts: Options) -> dict[str, Any]:
    rng = random.Random(opts.int("seed", 1))
    with _quiet():
        async with Senders.started() as senders:
            figures = await _main_case(senders, opts, rng)
            worst = await _worst_case(senders, opts, rng)
    figures["duplicates"] = (figures["incidents"] - figures["expected_incidents"]) + worst.get(
        "worst_case_duplicates", 0
    )
    figures.update(worst)
    figures["target"] = TARGET
    figures["ok"] = meets(TARGET, figures)
    return figures
